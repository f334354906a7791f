/** io/lines: LineReader splits by hand what readline split before — the same lines, whatever the chunking. */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { getHeapSpaceStatistics } from 'node:v8';
import { LineReader, readLines } from '../../src/io/lines.js';
import { tempDir } from '../helpers/tmp.js';

async function all(file: string, missingOk = false): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(file, missingOk)) out.push(l);
  return out;
}

test('lines across chunk ends (multi-byte characters split there), CRLF, empty lines, no final newline, a line longer than a chunk', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'l.txt');
  const lines: string[] = [];
  // ~1 MiB of lines of varying length with 2-, 3- and 4-byte characters, so that chunk ends (32 KiB)
  // fall inside characters; one line of 600 KiB spans several chunks.
  for (let i = 0; i < 20000; i++) lines.push(`{"p":"d${i % 97}/é€𝄞${'x'.repeat(i % 41)}","i":${i}}`);
  lines.splice(7000, 0, 'ü'.repeat(300 * 1024));
  const text = lines.map((l, i) => (i % 5 === 0 ? `${l}\r\n` : i % 7 === 0 ? `${l}\n\n` : `${l}\n`)).join('') + 'last-without-newline';
  await writeFile(file, text);
  assert.deepEqual(await all(file), [...lines, 'last-without-newline']);
  await writeFile(file, '');
  assert.deepEqual(await all(file), []);
  await assert.rejects(all(path.join(dir, 'missing')), { code: 'ENOENT' });
  assert.deepEqual(await all(path.join(dir, 'missing'), true), []);
  // next() after the end keeps saying undefined; close() early is fine.
  await writeFile(file, 'a\nb\n');
  const r = await LineReader.open(file);
  assert.equal(await r.next(), 'a');
  await r.close();
  assert.equal(await r.next(), undefined);
});

test('lines kept from a file keep no large objects alive (each chunk is a string small enough for the young generation)', async (t) => {
  // A line is a slice of its chunk's string, which it keeps alive. A chunk's string above V8's
  // large-object limit (~128 KiB) lives in the large-object space until a full collection: at 256 KiB
  // chunks, the scan's garbage held 45-58 MiB there at its peak. Here one line per chunk is kept,
  // so every chunk string stays reachable: none of them may be a large object.
  const dir = await tempDir(t);
  const file = path.join(dir, 'big.txt');
  const line = (i: number): string => `{"p":"folder/file-${i}.txt","t":"f","s":12,"m":"1733600000123456789","c":"1733600000123456789","i":"${i}"}`;
  await writeFile(file, Array.from({ length: 40_000 }, (_, i) => line(i)).join('\n') + '\n'); // ~4.4 MB
  const los = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'large_object_space')?.space_used_size ?? 0;
  const before = los();
  const kept: string[] = [];
  let n = 0;
  for await (const l of readLines(file)) if (n++ % 200 === 0) kept.push(l);
  const grown = los() - before;
  assert.equal(kept.length, 200);
  assert.ok(grown < 1 << 20, `reading 4.4 MB grew the large-object space by ${grown} bytes`);
});
