/**
 * The streaming backup pipeline end to end, with the real 7zz: volumes are uploaded and
 * PAR2-protected while 7-Zip writes later ones, the protection config is honoured, a failed upload
 * leaves no descriptor, and a damaged manifest is rebuilt from its own PAR2 set. The staging bound
 * and the pause rules are table-tested in test/core/volume-stream-rules.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { FaultyBackend } from '../../src/backend/wrappers.js';
import { streamingRanges, streamingReadyAt, type ProtectionConfig, type StreamingLayout } from '../../src/core/protection/index.js';
import { isStrataError } from '../../src/errors.js';
import { jobPaths, type PipelineEvent } from '../../src/pipeline/backup/index.js';
import { ensureLocalManifest } from '../../src/pipeline/manifests.js';
import { materializeSet } from '../../src/pipeline/setfiles.js';
import { runRestore } from '../../src/pipeline/restore/index.js';
import { runVerify } from '../../src/pipeline/verify.js';
import { Repository } from '../../src/repository/repository.js';
import { PASSWORD, backup, configFor, folderBytes, makeFixture, realTools, silentOutput } from './helpers.js';

const KiB = 1024;

/** tinyWindows: every set is sliding, windows of 4 volumes sliding by 2, 30 % (weekly). */
function tinyWindows(base: ProtectionConfig): ProtectionConfig {
  const table = [{ name: 'all', upTo: null, redundancyPercent: 30 }];
  return { ...base, directMaxBytes: 0, groupedMaxBytes: 0, windowSize: 4, windowSlide: 2, tiers: { daily: table, weekly: table, monthly: table, yearly: table } };
}

/** tinyGroups: sets above 256 KiB are grouped, fixed groups of 4 volumes (a remainder of 1 joins the last group), 30 %. */
function tinyGroups(base: ProtectionConfig): ProtectionConfig {
  const table = [{ name: 'all', upTo: null, redundancyPercent: 30 }];
  return { ...base, directMaxBytes: 256 * KiB, groupedMaxBytes: 1024 * 1024 * KiB, groupSize: 4, tiers: { daily: table, weekly: table, monthly: table, yearly: table } };
}

/**
 * streamEndToEnd backs up ≈ 40 volumes of 64 KiB with `staging.maxVolumes: 2` and the given
 * protection config, then checks that the set has the expected streamed layout, that PAR2 units
 * were made and volumes released while 7-Zip ran, and that the set verifies and restores
 * byte-identical. The hold/release rules themselves (what may leave staging when, when 7-Zip
 * pauses, the staging bound) are table-tested without 7-Zip in test/core/volume-stream-rules.
 */
async function streamEndToEnd(t: TestContext, protection: (base: ProtectionConfig) => ProtectionConfig, strategy: 'grouped' | 'sliding', size: number, step: number): Promise<void> {
  const f = await makeFixture(t, 2560); // ≈ 40 volumes of 64 KiB
  const config = configFor(f, (c) => ({ ...c, staging: { maxVolumes: 2 }, protection: protection(c.protection) }));
  const events: PipelineEvent[] = [];
  const result = await backup(f, new LocalBackend(f.dest), config, (e) => events.push(e));
  const setId = result.sources[0]?.setId;
  assert.ok(setId !== null && setId !== undefined);
  const n = result.sources[0]?.volumes ?? 0;
  assert.ok(n >= 30, `expected 30+ volumes, got ${n}`);

  // The layout is the configured one, fixed while archiving, and the descriptor records exactly what was made.
  const fixed = events.find((e) => e.kind === 'layout-fixed');
  assert.equal(fixed?.kind === 'layout-fixed' ? fixed.strategy : undefined, strategy, `the ${strategy} layout was fixed while archiving`);
  const d = await new Repository(new LocalBackend(f.dest)).readDescriptor(setId);
  assert.equal(d.protection?.strategy, strategy);
  const layout: StreamingLayout = { strategy, size, step, blockSize: 0, rule: { name: 'all', upTo: null, redundancyPercent: 30 }, estimatedBytes: 0 };
  const ranges = d.protection?.units.map((u) => [u.volumes[0], u.volumes[u.volumes.length - 1]]);
  assert.deepEqual(ranges, streamingRanges(layout, n));
  const units = events.flatMap((e) => (e.kind === 'unit-created' ? [e] : []));
  assert.deepEqual(units.map((e) => e.name).sort(), d.protection?.units.map((u) => u.name).sort());
  for (const o of d.recovery) await fsp.access(path.join(f.dest, setId, o.name));

  // PAR2 for a unit was made before the last volume was final, and only once it was certain;
  // volumes left staging while 7-Zip still wrote.
  const lastFinal = events.find((e) => e.kind === 'volume-final' && e.index === n - 1);
  const early = units.filter((e) => e.early);
  assert.ok(lastFinal !== undefined && (early[0]?.at ?? Infinity) < lastFinal.at, 'a unit was made while archiving');
  for (const e of early) {
    const ready = streamingReadyAt(layout, (e.volumes[0] ?? 0) / step);
    const when = events.find((x) => x.kind === 'volume-final' && x.index === ready);
    assert.ok(when !== undefined && when.at <= e.at, `${e.name} made after volume ${ready + 1} was final`);
  }
  assert.ok(events.some((e) => e.kind === 'volume-released' && e.at < lastFinal.at), 'volumes were released while archiving');

  // It verifies (PAR2 of every unit, every object's hash, a full 7-Zip test) …
  const repo = new Repository(new LocalBackend(f.dest));
  const tools = await realTools();
  await fsp.mkdir(path.join(f.root, 'work'), { recursive: true });
  const [verdict] = await runVerify({ repo, tools, password: PASSWORD, sets: [d], repair: false, workDir: path.join(f.root, 'work'), out: silentOutput(), signal: new AbortController().signal });
  assert.equal(verdict?.status, 'ok', `verify: ${JSON.stringify(verdict)}`);
  assert.equal(verdict.archiveTest, 'ok');
  // … and restores byte-identical.
  const out = path.join(f.root, 'restored');
  await runRestore({ repo, tools, password: PASSWORD, to: out, paths: [], overwrite: false, workDir: path.join(f.root, 'work'), out: silentOutput(), signal: new AbortController().signal });
  let compared = 0;
  for (const name of await fsp.readdir(f.src, { recursive: true })) {
    const from = path.join(f.src, name);
    if (!(await fsp.stat(from)).isFile()) continue;
    assert.deepEqual(await fsp.readFile(path.join(out, name)), await fsp.readFile(from), name);
    compared++;
  }
  assert.ok(compared > 0, 'the source had files to compare');
}

describe('streaming backup', () => {
  it('makes PAR2 and releases volumes while 7-Zip runs, and honours a sliding protection config', async (t) => {
    await streamEndToEnd(t, tinyWindows, 'sliding', 4, 2);
  });

  it('makes PAR2 and releases volumes while 7-Zip runs, and honours a grouped protection config', async (t) => {
    await streamEndToEnd(t, tinyGroups, 'grouped', 4, 4);
  });

  it('an upload failing mid-run leaves no descriptor, and the next run succeeds', async (t) => {
    const f = await makeFixture(t, 1024);
    const config = configFor(f, (c) => ({ ...c, protection: tinyWindows(c.protection) }));
    const faulty = new FaultyBackend(new LocalBackend(f.dest)).fail('put', { after: 6, error: new Error('injected: the connection dropped') });
    await assert.rejects(backup(f, faulty, config), /injected: the connection dropped/);
    const repo = new Repository(new LocalBackend(f.dest));
    let catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 0, 'no set is complete');
    assert.equal(catalog.incomplete.length, 1, 'the partial set is left as debris');
    const staged = await folderBytes(jobPaths(f.jobDir).staging);
    assert.equal(staged, 0, 'staging is cleaned up');

    const second = await backup(f, new LocalBackend(f.dest), config, undefined, new Date('2026-11-29T11:00:00Z'));
    assert.equal(second.removedDebris.length, 1);
    catalog = await repo.catalog();
    assert.equal(catalog.complete.length, 1);
    assert.equal(catalog.incomplete.length, 0);
  });

  it('repairs a damaged or missing manifest from its own PAR2 set', async (t) => {
    const f = await makeFixture(t, 256);
    const result = await backup(f, new LocalBackend(f.dest), configFor(f));
    const setId = result.sources[0]?.setId ?? '';
    const repo = new Repository(new LocalBackend(f.dest));
    const d = await repo.readDescriptor(setId);
    assert.ok(d.manifestProtection !== undefined && d.manifestProtection !== null, 'the descriptor records the manifest unit');
    assert.ok(d.recovery.some((o) => o.name === `${setId}.manifest.par2`));
    const restoreTxt = await fsp.readFile(path.join(f.dest, setId, 'RESTORE.txt'), 'utf8');
    assert.match(restoreTxt, new RegExp(`par2 repair -B\\. ${setId}\\.manifest\\.par2`));
    const tools = await realTools();
    const manifestFile = path.join(f.dest, setId, d.manifest.name);

    // Damaged in the middle: fetching it for a restore repairs it (on the way, not at the destination).
    const fh = await fsp.open(manifestFile, 'r+');
    await fh.write(Buffer.alloc(300, 0xff), 0, 300, Math.floor(d.manifest.size / 2));
    await fh.close();
    const cache1 = path.join(f.root, 'cache1');
    const plain = await ensureLocalManifest(repo, d, tools.sevenZip, PASSWORD, cache1, tools.parity);
    assert.match(await fsp.readFile(plain, 'utf8'), /"strata":"manifest"/);

    // materializeSet (restore's view of a set's volumes) is not bothered: the volumes are intact and read in place.
    const mat = await materializeSet(repo, d, path.join(f.root, 'mat'), tools.parity, () => undefined);
    assert.deepEqual([mat.copy, mat.repaired, mat.lostVolumes], [false, [], []]);

    // Gone entirely: rebuilt from the recovery files alone (100 % redundancy).
    await fsp.rm(manifestFile);
    const cache2 = path.join(f.root, 'cache2');
    const again = await ensureLocalManifest(repo, d, tools.sevenZip, PASSWORD, cache2, tools.parity);
    assert.equal(await fsp.readFile(again, 'utf8'), await fsp.readFile(plain, 'utf8'));

    // Without its PAR2 files too, it is DAMAGED.
    for (const o of d.recovery.filter((r) => r.name.startsWith(`${setId}.manifest.`))) await fsp.rm(path.join(f.dest, setId, o.name));
    await assert.rejects(ensureLocalManifest(repo, d, tools.sevenZip, PASSWORD, path.join(f.root, 'cache3'), tools.parity), (e) => isStrataError(e, 'NOT_FOUND') || isStrataError(e, 'DAMAGED'));
  });
});
