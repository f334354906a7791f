/**
 * The manifest's PAR2 set is made with the engine's small buffers (CreateOptions.lowMemory): it is
 * made at the end of a run, when the process holds the most (issue 11: at most 200 MB at a million
 * files), while the volumes keep the fast plan. A recording wrapper around the real engine and a
 * real backup.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LocalBackend } from '../../src/backend/local.js';
import { manifestUnitName } from '../../src/core/keys.js';
import type { CreateOptions, ParityEngine } from '../../src/parity/engine.js';
import { runBackup } from '../../src/pipeline/backup/index.js';
import { fixedClock } from '../../src/clock.js';
import { machineIdentity } from '../../src/config/machine.js';
import * as path from 'node:path';
import { PASSWORD, configFor, makeFixture, realTools, silentOutput } from './helpers.js';

test('a backup makes the manifest’s PAR2 set with lowMemory and the volumes’ without', async (t) => {
  const f = await makeFixture(t, 512);
  const real = await realTools();
  const calls: { unit: string; lowMemory: boolean }[] = [];
  const recording: ParityEngine = {
    version: real.parity.version,
    create: (unit, dir, names, opts?: CreateOptions) => {
      calls.push({ unit: unit.name, lowMemory: opts?.lowMemory === true });
      return real.parity.create(unit, dir, names, opts);
    },
    verify: (unit, dir, opts) => real.parity.verify(unit, dir, opts),
    repair: (unit, dir, opts) => real.parity.repair(unit, dir, opts),
  };
  const result = await runBackup({
    config: configFor(f),
    tier: 'weekly',
    backend: new LocalBackend(f.dest),
    jobDir: f.jobDir,
    machine: await machineIdentity(path.dirname(path.dirname(f.jobDir))),
    password: PASSWORD,
    tools: { sevenZip: real.sevenZip, parity: recording },
    out: silentOutput(),
    clock: fixedClock(new Date('2026-11-29T10:00:00Z')),
    signal: new AbortController().signal,
    version: 'test',
  });
  const setId = result.sources[0]?.setId;
  assert.ok(setId !== null && setId !== undefined, 'a set was made');
  const manifest = calls.filter((c) => c.unit === manifestUnitName(setId));
  const volumes = calls.filter((c) => c.unit !== manifestUnitName(setId));
  assert.deepEqual(manifest, [{ unit: manifestUnitName(setId), lowMemory: true }]);
  assert.ok(volumes.length > 0, 'the volumes were protected');
  assert.ok(volumes.every((c) => !c.lowMemory), `volume units keep the fast plan: ${JSON.stringify(volumes)}`);
});
