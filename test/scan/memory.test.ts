/**
 * Scale test: a scan's retained heap must not grow with the number of files (streams, not maps).
 *
 * The measure is the trend of the heap still in use after a full GC, sampled every 250 files
 * during one scan: its least-squares slope in bytes per file. A snapshot or a peak is not enough:
 * the scan's line writers buffer a chunk each before flushing, a sawtooth of a few MiB that
 * has nothing to do with the number of files. A control run retains one Map entry per path (the
 * very design this test guards against) and must be caught by the same measure.
 */
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

const FILES = 30_000;
/** Bytes retained per file above which a scan is said to grow with the source. A Map entry per
 *  path costs about 100 here; the real scans measure about 16 (first) and 0 (no change). */
const MAX_SLOPE = 48;
const SAMPLE_EVERY = 250;
const WARM_UP = 2000;

/** grow adds small files, 100 per folder (memory is bounded by the widest folder, by design). */
async function grow(root: string, count: number): Promise<void> {
  for (let d = 0; d < count / 100; d++) {
    const dir = path.join(root, `d${String(d).padStart(4, '0')}`);
    await mkdir(dir, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) writes.push(writeFile(path.join(dir, `file-${i}.txt`), `file ${d}/${i}\n`));
    await Promise.all(writes);
  }
}

/** slope is the least-squares slope of ys over xs. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxy / sxx;
}

interface Measured {
  result: ScanResult;
  ms: number;
  /** Retained heap growth, bytes per file scanned. */
  bytesPerFile: number;
  /** Largest retained heap above the heap before the scan. */
  peak: number;
}

async function measure(root: string, state: string, name: string, previousManifest?: string, leak?: Map<string, number>): Promise<Measured> {
  gc();
  const base = process.memoryUsage().heapUsed;
  const xs: number[] = [];
  const ys: number[] = [];
  const started = process.hrtime.bigint();
  const result = await scanSource({
    root, excludes: [], mode: 'incremental', setId: name, previousManifest, statCache: path.join(state, 'cache'),
    outManifest: path.join(state, `${name}.lines`), outArchiveList: path.join(state, `${name}.list`),
    isListFileSafe: () => true, now: () => new Date(),
    onProgress: (p) => {
      leak?.set(p.path, p.files);
      if (p.files >= WARM_UP && p.files % SAMPLE_EVERY === 0) {
        gc();
        xs.push(p.files);
        ys.push(process.memoryUsage().heapUsed - base);
      }
    },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.ok(xs.length >= (FILES - WARM_UP) / SAMPLE_EVERY, `only ${xs.length} samples`);
  return { result, ms, bytesPerFile: slope(xs, ys), peak: Math.max(...ys) };
}

test(`a scan's retained heap does not grow with the number of files (${FILES / 1000}k files)`, { timeout: 180_000 }, async (t) => {
  const dir = await tempDir(t);
  const root = path.join(dir, 'src');
  const state = path.join(dir, 'state');
  await mkdir(state);
  await grow(root, FILES);
  // Files written within RACY_MARGIN_NS of a scan are read again by the next one; let them age first.
  await new Promise((r) => setTimeout(r, 2100));

  const first = await measure(root, state, 'first');
  assert.equal(first.result.hashedFiles, FILES);
  await commitStatCache(first.result.newStatCache, path.join(state, 'cache'));
  // The manifest needs a header to serve as the previous one.
  const prev = path.join(state, 'first.manifest');
  await writeFile(prev, `{"strata":"manifest","version":1,"set":"first","source":"s","type":"INCR","tier":"daily","created":"x","base":null}\n${await readFile(path.join(state, 'first.lines'), 'utf8')}`);

  // The no-change run: merge-join of walk, previous manifest and stat cache.
  const again = await measure(root, state, 'again', prev);
  assert.equal(again.result.hashedFiles, 0);
  assert.equal(again.result.unchanged, FILES + FILES / 100);

  // Control: the same no-change scan, with one Map entry per path kept alive alongside it.
  const kept = new Map<string, number>();
  const control = await measure(root, state, 'control', prev, kept);
  assert.equal(kept.size, FILES + FILES / 100); // progress reports folders too

  for (const [label, m] of [['first', first], ['no change', again], ['control (Map per path)', control]] as const) {
    t.diagnostic(`${label}: ${m.ms.toFixed(0)} ms, ${m.bytesPerFile.toFixed(1)} B retained per file, peak ${(m.peak / 1024).toFixed(0)} KiB`);
  }
  assert.ok(control.bytesPerFile > MAX_SLOPE, `the measure must catch a Map entry per path: ${control.bytesPerFile.toFixed(1)} B/file`);
  assert.ok(first.bytesPerFile < MAX_SLOPE, `first scan retains ${first.bytesPerFile.toFixed(1)} B per file`);
  assert.ok(again.bytesPerFile < MAX_SLOPE, `no-change scan retains ${again.bytesPerFile.toFixed(1)} B per file`);
});
