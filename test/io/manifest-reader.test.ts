/** io/manifest-reader: the one manifest reader — lines parsed, live entries only, damage named by line. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { serializeEntry } from '../../src/core/manifest.js';
import { isStrataError } from '../../src/errors.js';
import { readEntries } from '../../src/pipeline/manifests.js';
import { ManifestReader, readManifestEntries, readManifestLines } from '../../src/io/manifest-reader.js';
import { tempDir } from '../helpers/tmp.js';

const HEADER = JSON.stringify({ strata: 'manifest', version: 1, source: 'docs' });
const a = serializeEntry({ path: 'a.txt', type: 'file', size: 1, mtimeNs: 0n, mode: 0o644, sha256: '0'.repeat(64) });
const b = serializeEntry({ path: 'b', type: 'dir', size: 0, mtimeNs: 0n, mode: 0o755 });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

test('lines come parsed; entries are the live ones; pipeline readEntries is the same reader', async (t) => {
  const file = path.join(await tempDir(t), 'm.jsonl');
  await writeFile(file, [HEADER, a, JSON.stringify({ deleted: 'gone.txt' }), b, ''].join('\n'));
  assert.deepEqual((await collect(readManifestLines(file))).map((l) => l.kind), ['header', 'entry', 'deleted', 'entry']);
  assert.deepEqual((await collect(readManifestEntries(file))).map((e) => e.path), ['a.txt', 'b']);
  assert.deepEqual((await collect(readEntries(file))).map((e) => e.path), ['a.txt', 'b']);
});

test('a malformed line is DAMAGED and names its line; the previous-manifest reader adds its hint and checks the order', async (t) => {
  const dir = await tempDir(t);
  const bad = path.join(dir, 'bad.jsonl');
  await writeFile(bad, [HEADER, a, '{"path": 3}'].join('\n'));
  await assert.rejects(collect(readManifestLines(bad)), (e) => isStrataError(e, 'DAMAGED') && e.message.startsWith('manifest bad.jsonl, line 3 is malformed'));
  await assert.rejects(new ManifestReader(bad).rest(async () => undefined), (e) => isStrataError(e, 'DAMAGED') && /previous manifest .*line 3/.test(e.message) && /strata verify/.test(e.hint ?? ''));
  const unsorted = path.join(dir, 'unsorted.jsonl');
  await writeFile(unsorted, [HEADER, b, a].join('\n'));
  await assert.rejects(new ManifestReader(unsorted).rest(async () => undefined), (e) => isStrataError(e, 'DAMAGED') && /not in path order/.test(e.message));
});
