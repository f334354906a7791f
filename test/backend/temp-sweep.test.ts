/**
 * Upload temporaries a killed run left on WebDAV and rclone destinations are swept by the next
 * backup, like on local folders (issue 7 §9) — only strata's own: a temporary of this host whose
 * process is dead, or one of strata's temporary names untouched for over a day. A fresh temporary
 * of another host (an upload in progress elsewhere) and a name that is not strata's stay.
 *
 * The kill is real: a child process uploads through the real backend against the real Apache
 * WebDAV server (directly, and through rclone) and is SIGKILLed at the moment it would move its
 * finished temporary into place (a fault hook on its own http.request / child_process.spawn).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { cli } from '../e2e/util.js';

const CHILD = `
import http from 'node:http';
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import { Readable } from 'node:stream';
const [kind, modUrl, target, key] = process.argv.slice(2);
const die = () => process.kill(process.pid, 'SIGKILL');
if (kind === 'webdav') {
  const orig = http.request;
  http.request = function (url, opts, ...rest) { if (opts && opts.method === 'MOVE') die(); return orig.call(this, url, opts, ...rest); };
} else {
  const orig = cp.spawn;
  cp.spawn = function (cmd, args, ...rest) { if (Array.isArray(args) && args.includes('moveto')) die(); return orig.call(this, cmd, args, ...rest); };
}
syncBuiltinESMExports();
const mod = await import(modUrl);
const data = Buffer.alloc(4096, 7);
const body = { size: data.length, open: () => Readable.from([data]) };
const b = kind === 'webdav'
  ? new mod.WebDavBackend({ url: target, username: process.env.DAV_USER, password: process.env.DAV_PASS })
  : new mod.RcloneBackend({ target, env: process.env });
await b.put(key, body);
process.exit(3);
`;

/** killedUpload runs the child and returns its pid once it died of SIGKILL. */
async function killedUpload(dir: string, kind: 'webdav' | 'rclone', target: string, key: string, env: Record<string, string>): Promise<number> {
  const script = path.join(dir, 'child.mjs');
  await fsp.writeFile(script, CHILD);
  const modUrl = new URL(`../../src/backend/${kind}.js`, import.meta.url).href;
  const child = spawn(process.execPath, [script, kind, modUrl, target, key], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGKILL', `the upload was not killed at its move: ${stderr}`);
  return child.pid ?? -1;
}

const VARS = ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS', 'STRATA_TEST_WEBDAV_ROOT'] as const;
const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

describe('leftover upload temporaries on remote destinations', () => {
  const env = Object.fromEntries(VARS.map((n) => [n, process.env[n] ?? ''])) as Record<(typeof VARS)[number], string>;
  const runId = randomBytes(4).toString('hex');

  it('the WebDAV test server is configured', () => {
    assert.deepEqual(VARS.filter((n) => env[n] === ''), [], 'source /work/test-env.sh (scripts/test-servers/.env) first');
  });

  for (const kind of ['webdav', 'rclone'] as const) {
    it(`${kind}: the next backup sweeps a killed upload's temporary and a day-old one of strata's, and leaves the rest`, async (t) => {
      const root = await tempDir(t, 'strata-sweep-');
      const src = path.join(root, 'src');
      await fsp.mkdir(src);
      await fsp.writeFile(path.join(src, 'a.txt'), 'alpha');
      const folder = `sweep-${kind}-${runId}`;
      const base = new URL(env.STRATA_TEST_WEBDAV_URL);
      const rcEnv = {
        RCLONE_CONFIG: '/dev/null',
        RCLONE_CONFIG_STRATASWEEP_TYPE: 'webdav',
        RCLONE_CONFIG_STRATASWEEP_URL: env.STRATA_TEST_WEBDAV_URL,
        RCLONE_CONFIG_STRATASWEEP_VENDOR: 'other',
        RCLONE_CONFIG_STRATASWEEP_USER: env.STRATA_TEST_WEBDAV_USER,
        RCLONE_CONFIG_STRATASWEEP_PASS: execFileSync('rclone', ['obscure', env.STRATA_TEST_WEBDAV_PASS], { encoding: 'utf8' }).trim(),
      };
      const setDir = '261120_FULL_src';
      const key = `${setDir}/${setDir}.7z.001`;
      const pid = kind === 'webdav'
        ? await killedUpload(root, kind, new URL(`/${folder}/`, base).href, key, { DAV_USER: env.STRATA_TEST_WEBDAV_USER, DAV_PASS: env.STRATA_TEST_WEBDAV_PASS })
        : await killedUpload(root, kind, `stratasweep:${folder}`, key, rcEnv);
      const onDisk = path.join(env.STRATA_TEST_WEBDAV_ROOT, folder, setDir);
      const left = (await fsp.readdir(onDisk)).filter((n) => n.startsWith('.strata-tmp-'));
      assert.equal(left.length, 1, `the kill left one temporary: ${left.join(', ')}`);
      assert.ok(left[0]?.startsWith(`.strata-tmp-${HOST}-${pid}-`), `${left[0] ?? ''} names this host and the dead pid`);
      // Others beside it: a day-old one of another host, and an older-format one (swept); a fresh
      // one of another host (an upload in progress there) and a name that is not strata's (kept).
      const old = new Date('2026-01-01T00:00:00Z');
      const planted = { oldOther: '.strata-tmp-otherhost-42-abcdefabcdef', oldFormat: '.strata-tmp-0123456789abcdef', freshOther: '.strata-tmp-otherhost-43-abcdefabcdef', notOurs: '.strata-tmp-notes' };
      for (const n of Object.values(planted)) await fsp.writeFile(path.join(onDisk, n), 'x');
      for (const n of [planted.oldOther, planted.oldFormat, planted.notOurs]) await fsp.utimes(path.join(onDisk, n), old, old);

      const dest = kind === 'webdav' ? `webdav+http://${encodeURIComponent(env.STRATA_TEST_WEBDAV_USER)}@${base.host}/${folder}` : `rclone:stratasweep:${folder}`;
      const e = kind === 'webdav' ? { STRATA_WEBDAV_PASSWORD: env.STRATA_TEST_WEBDAV_PASS } : rcEnv;
      await cli(['backup', '--tier', 'weekly', '--source', src, '--dest', dest, '--state', path.join(root, 'state')], { env: e });
      const after = (await fsp.readdir(onDisk)).filter((n) => n.startsWith('.strata-tmp-')).sort();
      assert.deepEqual(after, [planted.freshOther, planted.notOurs].sort());
    });
  }
});
