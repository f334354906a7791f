/** Scale test: a scan's retained heap must not grow with the number of files (streams, not maps). */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { commitStatCache, scanSource, type ScanResult } from '../../src/scan/index.js';
import { tempDir } from '../helpers/tmp.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** grow adds small files, 100 per folder (memory is bounded by the widest folder, by design). */
async function grow(root: string, from: number, to: number): Promise<void> {
  for (let d = Math.floor(from / 100); d < to / 100; d++) {
    const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) writes.push(writeFile(path.join(dir, `file-${i}.txt`), `file ${d}/${i}\n`));
    await Promise.all(writes);
  }
}

interface Measured {
  result: ScanResult;
  ms: number;
  /** Largest heap still in use (after a full GC) during the scan, above the heap before it. */
  retainedPeak: number;
}

async function measure(root: string, state: string, name: string, previousManifest?: string): Promise<Measured> {
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  const started = process.hrtime.bigint();
  const result = await scanSource({
    root, excludes: [], mode: 'incremental', setId: name, previousManifest, statCache: path.join(state, 'cache'),
    outManifest: path.join(state, `${name}.lines`), outArchiveList: path.join(state, `${name}.list`),
    isListFileSafe: () => true, now: () => new Date(),
    onProgress: (p) => {
      if (p.files % 1000 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - base);
      }
    },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { result, ms, retainedPeak: peak };
}

test('scanning 20k files retains no more heap than scanning 5k', { timeout: 120_000 }, async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'src');
  const state = path.join(dir, 'state');
  await mkdir(state);
  await grow(root, 0, 5000);
  const small = await measure(root, state, 'small');
  assert.equal(small.result.totalFiles, 5050);
  await grow(root, 5000, 20_000);
  // Files written within RACY_MARGIN_NS of a scan are read again by the next one; let them age first.
  await new Promise((r) => setTimeout(r, 2100));
  const big = await measure(root, state, 'big');
  assert.equal(big.result.hashedFiles, 20_000);
  await commitStatCache(big.result.newStatCache, path.join(state, 'cache'));
  // The manifest needs a header to serve as the previous one.
  const prev = path.join(state, 'big.manifest');
  await writeFile(prev, `{"strata":"manifest","version":1,"set":"big","source":"s","type":"INCR","tier":"daily","created":"x","base":null}\n${await readFile(path.join(state, 'big.lines'), 'utf8')}`);
  // The no-change run: merge-join of walk, previous manifest and stat cache.
  const again = await measure(root, state, 'again', prev);
  assert.equal(again.result.hashedFiles, 0);
  assert.equal(again.result.unchanged, 20_200);
  t.diagnostic(`5k: ${small.ms.toFixed(0)} ms, retained peak ${(small.retainedPeak / 1024).toFixed(0)} KiB`);
  t.diagnostic(`20k first: ${big.ms.toFixed(0)} ms, retained peak ${(big.retainedPeak / 1024).toFixed(0)} KiB`);
  t.diagnostic(`20k no change: ${again.ms.toFixed(0)} ms, retained peak ${(again.retainedPeak / 1024).toFixed(0)} KiB`);
  // 15k more files: retaining even ~140 bytes per file (far less than one Map entry per path)
  // would add 2 MiB. Below that is noise from buffers, JIT and the periodically rebuilt matcher.
  assert.ok(big.retainedPeak < small.retainedPeak + (2 << 20), `5k ${small.retainedPeak} vs 20k ${big.retainedPeak}`);
  assert.ok(again.retainedPeak < small.retainedPeak + (2 << 20), `5k ${small.retainedPeak} vs 20k no-change ${again.retainedPeak}`);
});
