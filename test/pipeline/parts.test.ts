/**
 * A set of several archives (core/parts, issue 11): media stored, the rest in two LZMA2 archives
 * written at once. Made, verified (PAR2 over every part's volumes, 7-Zip test of every archive),
 * restored byte-exact with one whole volume of each part lost; resumed after a failed upload; and
 * never complete when one of its 7-Zip processes fails.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { FaultyBackend } from '../../src/backend/wrappers.js';
import type { StrataConfig } from '../../src/config/schema.js';
import { partsOf } from '../../src/core/parts.js';
import { SevenZip, type CreateOptions, type CreateResult } from '../../src/archive/sevenzip.js';
import { StrataError } from '../../src/errors.js';
import { fixedClock } from '../../src/clock.js';
import { machineIdentity } from '../../src/config/machine.js';
import { jobPaths, runBackup } from '../../src/pipeline/backup/index.js';
import { runRestore } from '../../src/pipeline/restore/index.js';
import { runVerify } from '../../src/pipeline/verify.js';
import { Repository } from '../../src/repository/repository.js';
import { makePartsSource } from '../e2e/damage.js';
import { PASSWORD, backup, configFor, makeFixture, realTools, silentOutput, type Fixture } from './helpers.js';

const LATER = new Date('2026-11-29T11:00:00Z');

/** partsFixture: two random 256 KiB blobs and five small texts (helpers), plus media, documents and 150 small files (e2e/damage). */
async function partsFixture(t: Parameters<typeof makeFixture>[0]): Promise<{ f: Fixture; config: StrataConfig }> {
  const f = await makeFixture(t, 512);
  await makePartsSource(path.join(f.src, 'mix'));
  const config = configFor(f, (c) => ({ ...c, routing: { enabled: true, minBytes: 1, splitMinBytes: 64 * 1024, storeMinBytes: 1 } }));
  return { f, config };
}

/** tree reads every file below a folder as path → contents (base64). */
async function tree(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const e of await fsp.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) m.set(path.relative(dir, path.join(e.parentPath, e.name)), (await fsp.readFile(path.join(e.parentPath, e.name))).toString('base64'));
  }
  return m;
}

async function restoreInto(f: Fixture, name: string, paths: string[] = []): Promise<string> {
  const to = path.join(f.root, `restored-${name}`);
  const work = path.join(f.root, `work-${name}`);
  await fsp.mkdir(work, { recursive: true });
  await runRestore({ repo: new Repository(new LocalBackend(f.dest)), tools: await realTools(), password: PASSWORD, to, paths, overwrite: false, workDir: work, out: silentOutput(), signal: new AbortController().signal });
  return to;
}

/** FailingPart is the real 7-Zip, except that writing archive part `part` fails once 7-Zip has written it (as a crash of that process would). */
class FailingPart extends SevenZip {
  constructor(real: SevenZip, private readonly part: string) {
    super(real.path, real.version);
  }
  override async create(o: CreateOptions): Promise<CreateResult> {
    const r = await super.create(o);
    if (o.archivePath.endsWith(this.part)) throw new StrataError('TOOL_FAILED', `injected failure of ${this.part}`);
    return r;
  }
}

describe('a set of several archives (stored media, two LZMA2 parts)', () => {
  it('is verified part by part and restored byte-exact with one whole volume of each part lost', async (t) => {
    const { f, config } = await partsFixture(t);
    const r = await backup(f, new LocalBackend(f.dest), config);
    const setId = r.sources[0]?.setId ?? '';
    const repo = new Repository(new LocalBackend(f.dest));
    const d = await repo.readDescriptor(setId);
    const parts = partsOf(d);
    assert.deepEqual(parts.map((p) => [p.archive, p.method]), [[`${setId}.7z`, 'lzma2'], [`${setId}.p2.7z`, 'lzma2'], [`${setId}.p3.7z`, 'copy']]);
    assert.equal(parts.reduce((n, p) => n + p.volumes, 0), d.volumes.length);
    // The stored part holds the random data: about its size (no compression), the LZMA2 parts far less than their text.
    const partBytes = parts.map((p) => d.volumes.slice(p.first, p.first + p.volumes).reduce((n, v) => n + v.size, 0));
    assert.ok((partBytes[2] ?? 0) > 512 * 1024 + 720_000, `stored part ${partBytes[2]} bytes`);
    await fsp.mkdir(path.join(f.root, 'work'), { recursive: true });
    const [verdict] = await runVerify({ repo, tools: await realTools(), password: PASSWORD, sets: [d], repair: false, workDir: path.join(f.root, 'work'), out: silentOutput(), signal: new AbortController().signal });
    assert.equal(verdict?.status, 'ok', JSON.stringify(verdict));
    assert.equal(verdict.archiveTest, 'ok');
    // One whole volume of each part gone: PAR2 (one unit over the volumes of all parts) rebuilds them.
    for (const p of parts) await fsp.rm(path.join(f.dest, setId, d.volumes[p.first + (p.volumes >> 1)]?.name ?? ''));
    assert.deepEqual(await tree(await restoreInto(f, 'lost')), await tree(f.src), 'the restored tree equals the source');
    // A subset held by one part only: the other parts' 7-Zip runs match nothing and that is no failure.
    const clip = await restoreInto(f, 'clip', ['mix/clip.mp4']);
    assert.deepEqual([...(await tree(clip)).keys()], ['mix/clip.mp4']);
    assert.deepEqual(await fsp.readFile(path.join(clip, 'mix/clip.mp4')), await fsp.readFile(path.join(f.src, 'mix/clip.mp4')));
    const code = await restoreInto(f, 'code', ['mix/code/deep']);
    assert.deepEqual([...(await tree(code)).keys()].sort(), [...(await tree(f.src)).keys()].filter((k) => k.startsWith('mix/code/deep/')).sort());
  });

  it('a run whose upload fails halfway is resumed with its parts; a failed 7-Zip part leaves no complete set and no journal', async (t) => {
    const { f, config } = await partsFixture(t);
    const tools = await realTools();
    // One of three 7-Zip processes fails: nothing is journaled, the next run starts over.
    const failing = { ...tools, sevenZip: new FailingPart(tools.sevenZip, '.p2.7z') };
    await assert.rejects(
      runBackup({ config, tier: 'weekly', backend: new LocalBackend(f.dest), jobDir: f.jobDir, machine: await machineIdentity(path.dirname(path.dirname(f.jobDir))), password: PASSWORD, tools: failing, out: silentOutput(), clock: fixedClock(new Date('2026-11-29T09:00:00Z')), signal: new AbortController().signal, version: 'test' }),
      /injected failure of \.p2\.7z/,
    );
    const repo = new Repository(new LocalBackend(f.dest));
    assert.equal((await repo.catalog()).complete.length, 0, 'no complete set after a failed part');
    const staging = jobPaths(f.jobDir).staging;
    assert.deepEqual((await fsp.readdir(staging).catch(() => [])).filter((n) => n.endsWith('.resume.json')), [], 'no journal: the set starts over');

    // An upload failure after every part is written: journaled with its parts, resumed by the next run.
    await assert.rejects(backup(f, new FaultyBackend(new LocalBackend(f.dest)).fail('put', { after: 6, times: Infinity }), config), /injected put fault/);
    const incomplete = (await repo.catalog()).incomplete.map((s) => s.id);
    const journaled = (await fsp.readdir(staging)).filter((n) => n.endsWith('.resume.json'));
    assert.equal(journaled.length, 1);
    const second = await backup(f, new LocalBackend(f.dest), config, undefined, LATER);
    const setId = second.sources[0]?.setId ?? '';
    assert.ok(incomplete.includes(setId), `the journaled set ${setId} is completed (unfinished: ${incomplete.join(', ')})`);
    assert.equal(`${setId}.resume.json`, journaled[0]);
    const d = await repo.readDescriptor(setId);
    assert.deepEqual(partsOf(d).map((p) => p.method), ['lzma2', 'lzma2', 'copy']);
    assert.deepEqual((await repo.catalog()).complete.map((s) => s.id), [setId]);
    assert.deepEqual(await tree(await restoreInto(f, 'resumed')), await tree(f.src));
  });
});
