/** Scan test helpers: run scans the way a backup command would, and read back what they wrote. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parseLine, serializeHeader, type ManifestEntry } from '../../src/core/manifest.js';
import { commitStatCache, scanSource, type ScanOptions, type ScanResult } from '../../src/scan/index.js';

/** Scanned is one scan's result plus what it wrote. */
export interface Scanned {
  result: ScanResult;
  entries: ManifestEntry[];
  deleted: string[];
  list: string[];
  /** The complete manifest (with a header), usable as the next scan's previousManifest. */
  manifestFile: string;
}

/** ScanCall tunes one Harness.scan(). */
export interface ScanCall {
  mode?: 'full' | 'incremental';
  extra?: Partial<ScanOptions>;
  /** Runs after the scan, before its output is read (the backup command archives and finalizes here). */
  afterScan?: (r: ScanResult, manifestLines: string) => Promise<void>;
  /** Run the scan some other way (another user, see errors.test.ts); it gets the options scanSource would. */
  runner?: (opts: ScanOptions) => Promise<ScanResult>;
}

/** Harness runs successive scans of one source, chaining manifests and stat caches like strata does. */
export class Harness {
  private n = 0;
  previous: string | undefined;
  readonly statCache: string;

  constructor(
    readonly root: string,
    readonly state: string,
    public excludes: string[] = [],
  ) {
    this.statCache = path.join(state, 'src.statcache');
  }

  /** scan runs one scan; unless `commit` is false the set counts as complete (cache committed, manifest
   * becomes the previous one). */
  async scan(mode: 'full' | 'incremental' = 'incremental', extra: Partial<ScanOptions> = {}, commit = true, call: ScanCall = {}): Promise<Scanned> {
    this.n++;
    const setId = `set${this.n}`;
    const lines = path.join(this.state, `${setId}.lines`);
    const list = path.join(this.state, `${setId}.list`);
    const opts: ScanOptions = {
      root: this.root, excludes: this.excludes, mode, setId, previousManifest: this.previous, statCache: this.statCache,
      outManifest: lines, outArchiveList: list, isListFileSafe: (p) => !p.includes('\n'), now: () => new Date(), ...extra,
    };
    const result = await (call.runner ?? scanSource)(opts);
    await call.afterScan?.(result, lines);
    const manifestFile = path.join(this.state, `${setId}.manifest`);
    const header = serializeHeader({ strata: 'manifest', version: 1, set: setId, source: 'src', type: mode === 'full' ? 'FULL' : 'INCR', tier: 'daily', created: new Date().toISOString(), base: null });
    const body = await readFile(lines, 'utf8');
    await writeFile(manifestFile, `${header}\n${body}`);
    const entries: ManifestEntry[] = [];
    const deleted: string[] = [];
    for (const line of body.split('\n')) {
      if (line === '') continue;
      const l = parseLine(line);
      if (l.kind === 'entry') entries.push(l.entry);
      else if (l.kind === 'deleted') deleted.push(l.path);
    }
    // ScanResult.sets (the backup's `depends` without reading the manifest back) names exactly the
    // sets of the file and symlink entries the scan wrote (afterScan may rewrite them: not then).
    if (call.afterScan === undefined) {
      const named = new Set(entries.flatMap((e) => (e.set !== undefined && e.type !== 'dir' ? [e.set] : [])));
      assert.deepEqual(result.sets, [...named].sort(), 'ScanResult.sets');
    }
    const listText = await readFile(list, 'utf8');
    if (commit) {
      await commitStatCache(result.newStatCache, this.statCache);
      this.previous = manifestFile;
    }
    return { result, entries, deleted, list: listText.split('\n').filter((l) => l !== ''), manifestFile };
  }
}

/** byPath finds an entry. */
export function byPath(s: Scanned, p: string): ManifestEntry | undefined {
  return s.entries.find((e) => e.path === p);
}
