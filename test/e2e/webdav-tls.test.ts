/**
 * WebDAV over HTTPS with Basic auth, end to end through the CLI against the real Apache from
 * scripts/test-servers (a self-signed certificate for 127.0.0.1): trusted through
 * NODE_EXTRA_CA_CERTS, a backup, list, remote verify and an exact restore work; not trusted, the
 * run stops at once with a clear error and hint, and writes nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { testServerEnv } from '../backend/conformance.js';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { Rng, assertSameTree, show, snapshot } from './robust-util.js';

const env = testServerEnv('WebDAV over HTTPS', ['STRATA_TEST_WEBDAV_TLS_URL', 'STRATA_TEST_WEBDAV_CA', 'STRATA_TEST_WEBDAV_USER', 'STRATA_TEST_WEBDAV_PASS', 'STRATA_TEST_WEBDAV_ROOT'] as const);
if (env !== undefined) {
  test('WebDAV over HTTPS: backup, list, verify --remote and an exact restore; an untrusted certificate is a clear error', { timeout: 180_000 }, async (t) => {
    const dir = await tempDir(t);
    const src = path.join(dir, 'src');
    const rng = new Rng(11);
    await fsp.mkdir(path.join(src, 'docs', 'deep'), { recursive: true });
    for (let i = 0; i < 12; i++) await fsp.writeFile(path.join(src, 'docs', i % 2 === 0 ? 'deep' : '', `f${i}.txt`), i % 3 === 0 ? rng.bytes(90_000) : rng.text(40_000));
    const prefix = `tls-e2e-${randomBytes(4).toString('hex')}`;
    t.after(() => fsp.rm(path.join(env.STRATA_TEST_WEBDAV_ROOT, prefix), { recursive: true, force: true }));
    const base = new URL(env.STRATA_TEST_WEBDAV_TLS_URL);
    const dest = `webdav+https://${encodeURIComponent(env.STRATA_TEST_WEBDAV_USER)}@${base.host}/${prefix}`;
    const common = ['--state', path.join(dir, 'state')];
    const trusted = { STRATA_PASSWORD: 'tls-test-password', STRATA_WEBDAV_PASSWORD: env.STRATA_TEST_WEBDAV_PASS, NODE_EXTRA_CA_CERTS: env.STRATA_TEST_WEBDAV_CA };

    // Not trusted (the machine's usual CAs only): exit 1, the reason and what to do; nothing stored.
    const refused = await strata([...common, 'backup', '--tier', 'weekly', '--source', src, '--dest', dest, '--volume-size', '64KiB'], { env: { ...trusted, NODE_EXTRA_CA_CERTS: undefined } });
    assert.equal(refused.code, 1, show(refused));
    assert.match(refused.stderr, /TLS certificate is not trusted/);
    assert.match(refused.stderr, /NODE_EXTRA_CA_CERTS/);
    assert.doesNotMatch(refused.stderr, new RegExp(env.STRATA_TEST_WEBDAV_PASS));
    await assert.rejects(fsp.access(path.join(env.STRATA_TEST_WEBDAV_ROOT, prefix)), 'nothing reached the server');

    // strata never creates a missing destination: init creates the collection and marks it.
    const init = await strata([...common, 'init', '--dest', dest], { env: trusted });
    assert.equal(init.code, 0, show(init));
    const backup = await strata([...common, 'backup', '--tier', 'weekly', '--source', src, '--dest', dest, '--volume-size', '64KiB'], { env: trusted });
    assert.equal(backup.code, 0, show(backup));
    const list = await strata([...common, '--json', 'list', '--dest', dest], { env: trusted });
    assert.equal(list.code, 0, show(list));
    const sets = (JSON.parse(list.stdout) as { sets: { id: string; volumes: number }[] }).sets;
    assert.equal(sets.length, 1);
    assert.ok((sets[0]?.volumes ?? 0) >= 3, 'a multi-volume set');
    const verify = await strata([...common, 'verify', '--dest', dest, '--remote'], { env: trusted });
    assert.equal(verify.code, 0, show(verify));
    // A fresh machine: no state folder.
    const out = path.join(dir, 'restored');
    const restore = await strata(['--state', path.join(dir, 'fresh-state'), 'restore', '--dest', dest, '--to', out], { env: trusted });
    assert.equal(restore.code, 0, show(restore));
    assertSameTree(await snapshot(out), await snapshot(src), 'restored over HTTPS');
  });
}
