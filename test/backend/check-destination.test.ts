/**
 * `strata check-destination` leaves nothing behind, its probe folder included, on the real WebDAV
 * server and on rclone remotes (a local one and one on that WebDAV server), as it says it does; and
 * Backend.removeFolder, which it uses, removes only an empty folder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { Readable } from 'node:stream';
import type { Backend } from '../../src/backend/backend.js';
import { RcloneBackend } from '../../src/backend/rclone.js';
import { WebDavBackend } from '../../src/backend/webdav.js';
import { RetryingBackend } from '../../src/backend/wrappers.js';
import { isStrataError } from '../../src/errors.js';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { testServerEnv } from './conformance.js';

// AWS_CA_BUNDLE breaks rclone's TLS set-up here; RCLONE_CONFIG keeps any user config out.
const { AWS_CA_BUNDLE: _ca, ...base } = process.env;
const rcloneLocal: NodeJS.ProcessEnv = { ...base, RCLONE_CONFIG: '/dev/null', RCLONE_CONFIG_CHKLOCAL_TYPE: 'local' };

/** entries lists a folder on disk, without Apache mod_dav's property stores (.DAV folders). */
async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((e) => !e.split(path.sep).includes('.DAV')).sort();
}

async function checkDestination(dest: string, env: Record<string, string | undefined>): Promise<void> {
  const r = await strata(['check-destination', '--dest', dest], { env: { ...env, AWS_CA_BUNDLE: undefined } });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /usable/);
  assert.match(r.stderr + r.stdout, /\.strata-check-[0-9a-f]+\/, removed afterwards/);
}

/** removeFolderChecks: an empty folder goes, a folder with an object (or a missing one) stays as it is. */
async function removeFolderChecks(b: Backend, listed: () => Promise<string[]>): Promise<void> {
  const one = { size: 1, open: () => Readable.from([Buffer.from('x')]) };
  await b.put('full/sub/x.bin', one);
  await b.put('emptied/sub/y.bin', one);
  await b.delete('emptied/sub/y.bin');
  await b.removeFolder?.('emptied/sub/');
  await b.removeFolder?.('emptied/');
  await b.removeFolder?.('full/sub/');
  await b.removeFolder?.('full/');
  await b.removeFolder?.('never-was/');
  assert.deepEqual(await listed(), ['full', 'full/sub', 'full/sub/x.bin']);
  assert.equal((await b.stat('full/sub/x.bin')).size, 1);
  await assert.rejects(b.removeFolder?.('') ?? Promise.reject(new Error('no removeFolder')), (e: unknown) => isStrataError(e, 'UNSAFE_PATH'));
  // The folder can be used again after it was removed.
  await b.put('emptied/sub/z.bin', one);
  assert.equal((await b.stat('emptied/sub/z.bin')).size, 1);
  for (const k of ['full/sub/x.bin', 'emptied/sub/z.bin']) await b.delete(k);
  for (const p of ['full/sub/', 'full/', 'emptied/sub/', 'emptied/']) await b.removeFolder?.(p);
  assert.deepEqual(await listed(), []);
}

// Each test has its own folder (a temp dir, or a collection named with random bytes): all at once
// (they mostly wait for rclone's start and the server).
describe('check-destination leaves no folder behind', { concurrency: true }, () => {
  it('rclone local remote', async () => {
    const dir = await tempDir(undefined, 'strata-check-rclone-');
    await checkDestination(`rclone:chklocal:${dir}`, rcloneLocal);
    assert.deepEqual(await entries(dir), []);
  });

  it('rclone local remote: removeFolder removes only empty folders', async () => {
    const dir = await tempDir(undefined, 'strata-rmdir-rclone-');
    const b = new RetryingBackend(new RcloneBackend({ target: `chklocal:${dir}`, env: rcloneLocal }));
    await removeFolderChecks(b, () => entries(dir));
  });

  const env = testServerEnv('check-destination on WebDAV', ['STRATA_TEST_WEBDAV_URL', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS', 'STRATA_TEST_WEBDAV_ROOT'] as const);
  if (env !== undefined) {
    const davEnv = { STRATA_WEBDAV_PASSWORD: env.STRATA_TEST_WEBDAV_PASS };
    const davUrl = (folder: string): string => {
      const u = new URL(`${folder}/`, env.STRATA_TEST_WEBDAV_URL);
      u.username = env.STRATA_TEST_WEBDAV_USER;
      return `webdav+${u.href}`;
    };
    const rcloneDav: NodeJS.ProcessEnv = {
      ...base,
      RCLONE_CONFIG: '/dev/null',
      RCLONE_CONFIG_CHKDAV_TYPE: 'webdav',
      RCLONE_CONFIG_CHKDAV_URL: env.STRATA_TEST_WEBDAV_URL,
      RCLONE_CONFIG_CHKDAV_VENDOR: 'other',
      RCLONE_CONFIG_CHKDAV_USER: env.STRATA_TEST_WEBDAV_USER,
      RCLONE_CONFIG_CHKDAV_PASS: execFileSync('rclone', ['obscure', env.STRATA_TEST_WEBDAV_PASS], { encoding: 'utf8' }).trim(),
    };

    /** cleanUp removes a test's (empty) destination folder from the server's root. */
    const cleanUp = async (folder: string): Promise<void> => {
      const root = new WebDavBackend({ url: env.STRATA_TEST_WEBDAV_URL, username: env.STRATA_TEST_WEBDAV_USER, password: env.STRATA_TEST_WEBDAV_PASS });
      await root.removeFolder(`${folder}/`).finally(() => root.close());
    };

    /** makeFolder creates a test's destination collection (check-destination refuses a missing one). */
    const makeFolder = async (folder: string): Promise<void> => {
      const b = new WebDavBackend({ url: new URL(`${folder}/`, env.STRATA_TEST_WEBDAV_URL).href, username: env.STRATA_TEST_WEBDAV_USER, password: env.STRATA_TEST_WEBDAV_PASS });
      await b.createRoot().finally(() => b.close());
    };

    it('WebDAV', async (t) => {
      const folder = `strata-check-dav-${randomBytes(4).toString('hex')}`;
      t.after(() => cleanUp(folder));
      await makeFolder(folder);
      await checkDestination(davUrl(folder), davEnv);
      assert.deepEqual(await entries(path.join(env.STRATA_TEST_WEBDAV_ROOT, folder)), []);
    });

    it('rclone on the WebDAV server', async (t) => {
      const folder = `strata-check-rcdav-${randomBytes(4).toString('hex')}`;
      t.after(() => cleanUp(folder));
      await makeFolder(folder);
      await checkDestination(`rclone:chkdav:${folder}`, rcloneDav);
      assert.deepEqual(await entries(path.join(env.STRATA_TEST_WEBDAV_ROOT, folder)), []);
    });

    it('WebDAV: removeFolder removes only empty collections', async (t) => {
      const folder = `strata-rmdir-dav-${randomBytes(4).toString('hex')}`;
      t.after(() => cleanUp(folder));
      const b = new RetryingBackend(new WebDavBackend({ url: new URL(`${folder}/`, env.STRATA_TEST_WEBDAV_URL).href, username: env.STRATA_TEST_WEBDAV_USER, password: env.STRATA_TEST_WEBDAV_PASS }));
      try {
        await removeFolderChecks(b, () => entries(path.join(env.STRATA_TEST_WEBDAV_ROOT, folder)));
      } finally {
        await b.close();
      }
    });

    it('rclone on WebDAV: removeFolder removes only empty folders', async (t) => {
      const folder = `strata-rmdir-rcdav-${randomBytes(4).toString('hex')}`;
      t.after(() => cleanUp(folder));
      const b = new RetryingBackend(new RcloneBackend({ target: `chkdav:${folder}`, env: rcloneDav }));
      await removeFolderChecks(b, () => entries(path.join(env.STRATA_TEST_WEBDAV_ROOT, folder)));
    });
  }
});

describe('check-destination without --dest', () => {
  it("checks the config file's destination", async (t) => {
    const dir = await tempDir(t, 'strata-check-config-');
    const dest = path.join(dir, 'dest');
    await mkdir(dest);
    await mkdir(path.join(dir, 'src'));
    const config = path.join(dir, 'strata.yaml');
    await writeFile(config, `sources:\n  - path: src\ndestination: dest\n`);
    const r = await strata(['--config', config, 'check-destination']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`checking ${dest.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.deepEqual(await readdir(dest), [], 'its probe folder removed afterwards');
    const none = await strata(['check-destination'], { cwd: dir, env: { STRATA_CONFIG: undefined } });
    assert.equal(none.code, 0, 'cwd has strata.yaml: that config is used');
    const empty = await tempDir(t, 'strata-check-noconfig-');
    const missing = await strata(['check-destination'], { cwd: empty });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no --dest and no config file/);
  });
});
