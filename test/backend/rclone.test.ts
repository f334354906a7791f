/** Backend conformance of RcloneBackend: rclone pointed at the test WebDAV server through RCLONE_CONFIG_* variables only. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, mkdir, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { RcloneBackend } from '../../src/backend/rclone.js';
import { backendConformance, testServerEnv } from './conformance.js';

const env = testServerEnv('rclone', ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS', 'STRATA_TEST_WEBDAV_ROOT'] as const);
if (env !== undefined) {
  // Only the variables below configure rclone (--config /dev/null); AWS_CA_BUNDLE breaks rclone's TLS setup here.
  const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
  const target = `stratadav:rclone-test-${randomBytes(4).toString('hex')}`;
  const rcEnv = (password: string): NodeJS.ProcessEnv => ({ ...base, RCLONE_CONFIG_STRATADAV_TYPE: 'webdav', RCLONE_CONFIG_STRATADAV_URL: env.STRATA_TEST_WEBDAV_URL, RCLONE_CONFIG_STRATADAV_VENDOR: 'other', RCLONE_CONFIG_STRATADAV_USER: env.STRATA_TEST_WEBDAV_USER, RCLONE_CONFIG_STRATADAV_PASS: execFileSync('rclone', ['obscure', password], { encoding: 'utf8' }).trim() });
  const open = (password: string): RcloneBackend => new RcloneBackend({ target, env: rcEnv(password), args: ['--config', '/dev/null'] });
  // Seed the 1500-object listing straight into the server's DAV folder, owned like what Apache writes
  // (through rclone that took 50 s: a put starts rclone four times, and `rclone copy` is no faster).
  const seedList = async (keys: string[]): Promise<void> => {
    const root = env.STRATA_TEST_WEBDAV_ROOT;
    const owner = await stat(root);
    const dirs = new Set<string>();
    for (const k of keys) {
      const file = path.join(root, target.slice('stratadav:'.length), k);
      for (let d = path.dirname(file); d.length > root.length && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, k);
      await chown(file, owner.uid, owner.gid);
    }
    for (const d of dirs) await chown(d, owner.uid, owner.gid);
  };
  const purge = async (): Promise<void> => void execFileSync('rclone', ['--config', '/dev/null', 'purge', target], { env: rcEnv(env.STRATA_TEST_WEBDAV_PASS) });
  backendConformance('rclone', async () => open(env.STRATA_TEST_WEBDAV_PASS), { seedList, purge, parallel: 4, makeBadCredentials: async () => open('wrong-password') });
}
