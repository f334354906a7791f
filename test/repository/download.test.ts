/**
 * Repository.download over a real (local) backend with injected faults: a transfer cut off midway
 * is tried again, so a network hiccup never passes for damage; an object that arrives whole with
 * other bytes is damage at once; one that keeps arriving short is damage in the end. And a restore
 * through such a destination needs no PAR2 repair.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { LocalBackend, bufferSource } from '../../src/backend/local.js';
import { FaultyBackend } from '../../src/backend/wrappers.js';
import { isStrataError } from '../../src/errors.js';
import { runRestore } from '../../src/pipeline/restore/index.js';
import { Repository } from '../../src/repository/repository.js';
import { PASSWORD, backup, configFor, makeFixture, realTools, silentOutput } from '../pipeline/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const DATA = randomBytes(300_000);
const EXPECT = { size: DATA.length, sha256: createHash('sha256').update(DATA).digest('hex') };

async function setup(t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; local: LocalBackend; file: string }> {
  const dir = await tempDir(t, 'strata-download-');
  const local = new LocalBackend(path.join(dir, 'dest'));
  await local.put('s/obj', bufferSource(DATA));
  return { dir, local, file: path.join(dir, 'out', 'obj') };
}

test('a download cut off midway is tried again and arrives whole', async (t) => {
  const { local, file } = await setup(t);
  const faulty = new FaultyBackend(local).fail('get', { afterBytes: 1000, times: 2 });
  await new Repository(faulty).download('s/obj', file, EXPECT);
  assert.equal(faulty.calls.get, 3);
  assert.deepEqual(await fsp.readFile(file), DATA);
});

test('a download that keeps being cut off fails after four tries and leaves no file', async (t) => {
  const { local, file } = await setup(t);
  const faulty = new FaultyBackend(local).fail('get', { afterBytes: 1000, times: 10 });
  await assert.rejects(new Repository(faulty).download('s/obj', file, EXPECT), (e: unknown) => isStrataError(e, 'BACKEND'));
  assert.equal(faulty.calls.get, 4);
  await assert.rejects(fsp.access(file));
});

test('other bytes of the right size are damage at once; an object short on the destination is damage after the retries', async (t) => {
  const { dir, local, file } = await setup(t);
  const flipped = Buffer.from(DATA);
  flipped[5000] = (flipped[5000] ?? 0) ^ 1;
  await local.put('s/flipped', bufferSource(flipped));
  const once = new FaultyBackend(local);
  await assert.rejects(new Repository(once).download('s/flipped', file, EXPECT), (e: unknown) => isStrataError(e, 'DAMAGED'));
  assert.equal(once.calls.get, 1, 'not retried');
  await fsp.writeFile(path.join(dir, 'dest', 's', 'short'), DATA.subarray(0, 200_000));
  const short = new FaultyBackend(local);
  await assert.rejects(new Repository(short).download('s/short', file, EXPECT), (e: unknown) => isStrataError(e, 'DAMAGED') && /size 200000, expected 300000/.test(e.message));
  assert.equal(short.calls.get, 4, 'a short transfer is tried again before it counts as damage');
});

test('a restore through a destination whose transfers break now and then needs no PAR2 repair', async (t) => {
  const f = await makeFixture(t, 512);
  await backup(f, new LocalBackend(f.dest), configFor(f));
  // The descriptor's read breaks three times; then, after one good read, three transfers break after 10 KB.
  const faulty = new FaultyBackend(new LocalBackend(f.dest)).fail('get', { afterBytes: 10_000, times: 3 }).fail('get', { after: 1, afterBytes: 10_000, times: 3 });
  await fsp.mkdir(path.join(f.root, 'work'));
  const infos: string[] = [];
  const out = silentOutput();
  const r = await runRestore({
    repo: new Repository(faulty), tools: await realTools(), password: PASSWORD, to: path.join(f.root, 'restored'), paths: [], overwrite: false,
    workDir: path.join(f.root, 'work'), out: { ...out, info: (l) => infos.push(l) }, signal: new AbortController().signal,
  });
  assert.deepEqual(r.map((x) => [x.lost.length, x.repairedVolumes.length]), [[0, 0]], infos.join('\n'));
  assert.ok(faulty.calls.get > 7, 'the faults were hit');
  let compared = 0;
  for (const name of await fsp.readdir(f.src, { recursive: true })) {
    const from = path.join(f.src, name);
    if (!(await fsp.stat(from)).isFile()) continue;
    assert.deepEqual(await fsp.readFile(path.join(f.root, 'restored', name)), await fsp.readFile(from), name);
    compared++;
  }
  assert.ok(compared > 0, 'the source had files to compare');
});

test('a restore from a remote reads the descriptor, the manifest and the volumes — no recovery file while the volumes are intact', async (t) => {
  const f = await makeFixture(t, 512);
  await backup(f, new LocalBackend(f.dest), configFor(f));
  const local = new LocalBackend(f.dest);
  const fetched: string[] = [];
  // The destination seen as a remote: every read is a get (no local path), and each is logged.
  const remote: Backend = {
    description: 'remote view',
    put: (k, b, o) => local.put(k, b, o),
    get: (k, r) => {
      fetched.push(k);
      return local.get(k, r);
    },
    stat: (k) => local.stat(k),
    list: (p) => local.list(p),
    delete: (k) => local.delete(k),
    close: () => local.close(),
  };
  await fsp.mkdir(path.join(f.root, 'work'));
  await runRestore({
    repo: new Repository(remote), tools: await realTools(), password: PASSWORD, to: path.join(f.root, 'restored'), paths: [], overwrite: false,
    workDir: path.join(f.root, 'work'), out: silentOutput(), signal: new AbortController().signal,
  });
  assert.deepEqual(fetched.filter((k) => k.endsWith('.par2')), [], `no recovery file: ${fetched.join(', ')}`);
  assert.equal(new Set(fetched).size, fetched.length, `each object once: ${fetched.join(', ')}`);
  assert.ok(fetched.some((k) => k.endsWith('.7z.001')) && fetched.some((k) => k.endsWith('.manifest.7z')) && fetched.some((k) => k.endsWith('.strata.json')));
});
