/**
 * core/replicate: the pure decision of which sets a destination lacks, from where, and which of
 * their objects still need copying — complete sets only, the same descriptor (hash) on every
 * holder, bases before their INCRs, nothing the target's retention would remove at once, an
 * unfinished folder continued only when the caller proved it a dead run of this job.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Descriptor } from '../../src/core/descriptor.js';
import { descriptorHash, objectActions, planReplication, setCopyObjects, type DestinationSets } from '../../src/core/replicate.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../../src/core/retention.js';

const MACHINE = { id: 'a'.repeat(32), host: 'laptop' };
const OTHER = { id: 'b'.repeat(32), host: 'desk' };
const NOW = new Date('2026-12-07T10:00:00Z');
const FOREVER: RetentionPolicy = { daily: 'forever', weekly: 'forever', monthly: 'forever', yearly: 'forever' };

function obj(name: string, n: number): { name: string; size: number; sha256: string } {
  return { name, size: 100 + n, sha256: n.toString(16).padStart(64, '0') };
}

function desc(id: string, created: string, opts: { base?: string; job?: string; machine?: typeof MACHINE; tier?: Descriptor['tier']; hmac?: string } = {}): Descriptor {
  const base = opts.base ?? null;
  return {
    format: 'strata-set', version: 1, id, job: opts.job ?? 'j', machine: opts.machine ?? MACHINE, source: 'docs', tier: opts.tier ?? (base === null ? 'weekly' : 'daily'), type: base === null ? 'FULL' : 'INCR',
    created, base, depends: base === null ? [id] : [base, id], volumes: [obj(`${id}.7z.001`, 1), obj(`${id}.7z.002`, 2)], manifest: obj(`${id}.manifest.7z`, 3), protection: null,
    recovery: [obj(`${id}.par2`, 4)], stats: { files: 1, bytes: 1, archivedFiles: 1, archivedBytes: 1, added: 1, modified: 0, deleted: 0 }, tool: {},
    kdf: { alg: 'scrypt', N: 1024, r: 8, p: 1, salt: 'c2FsdHNhbHRzYWx0c2FsdA==' }, restoreText: { size: 10, sha256: 'e'.repeat(64) }, check: 'c'.repeat(64), hmac: opts.hmac ?? 'd'.repeat(64),
  };
}

function dest(name: string, complete: Descriptor[], incomplete: { id: string; resumable: boolean }[] = []): DestinationSets {
  return { name, complete, incomplete };
}

const mine = (d: Descriptor): boolean => d.job === 'j' && d.machine?.id === MACHINE.id;

describe('planReplication', () => {
  const full = desc('261129_FULL_docs', '2026-11-29T09:00:00Z');
  const incr = desc('261130_INCR_docs', '2026-11-30T09:00:00Z', { base: full.id });
  const incr2 = desc('261201_INCR_docs', '2026-12-01T09:00:00Z', { base: full.id });

  it('copies the sets the target lacks, oldest first, from every holder of the same descriptor, primary first', () => {
    const plan = planReplication({
      target: dest('offsite', [full]),
      sources: [dest('nas', [incr2, full, incr]), dest('usb', [incr])],
      select: mine, policy: FOREVER, now: NOW,
    });
    assert.deepEqual(plan.present, [full.id]);
    assert.deepEqual(plan.copies.map((c) => [c.set.id, c.holders, c.resume, c.update]), [[incr.id, ['nas', 'usb'], false, false], [incr2.id, ['nas'], false, false]]);
    assert.equal(plan.copies[0]?.hash, descriptorHash(incr));
  });

  it('copies only this job\'s sets made by this machine', () => {
    const theirs = desc('261129_FULL_other', '2026-11-29T09:00:00Z', { machine: OTHER });
    const otherJob = desc('261129_FULL_x', '2026-11-29T09:00:00Z', { job: 'k' });
    const plan = planReplication({ target: dest('t', []), sources: [dest('p', [theirs, otherJob, full])], select: mine, policy: FOREVER, now: NOW });
    assert.deepEqual(plan.copies.map((c) => c.set.id), [full.id]);
  });

  it('updates a set promoted since it was copied (same volumes, new descriptor); never touches other volumes under the same id', () => {
    const promoted = { ...desc(full.id, full.created, { tier: 'monthly', hmac: 'f'.repeat(64) }), recovery: [...full.recovery, obj(`${full.id}.vol00+01.par2`, 9)] };
    const plan = planReplication({ target: dest('t', [full]), sources: [dest('p', [promoted]), dest('q', [full])], select: mine, policy: FOREVER, now: NOW });
    assert.deepEqual(plan.copies.map((c) => [c.set.id, c.set.tier, c.update, c.holders]), [[full.id, 'monthly', true, ['p', 'q']]]);
    assert.equal(plan.copies[0]?.hash, descriptorHash(promoted));
    const remade = { ...desc(full.id, full.created, { hmac: '1'.repeat(64) }), volumes: [obj(`${full.id}.7z.001`, 7)] };
    const conflict = planReplication({ target: dest('t', [remade]), sources: [dest('p', [full])], select: mine, policy: FOREVER, now: NOW });
    assert.deepEqual(conflict.copies, []);
    assert.deepEqual(conflict.skipped.map((x) => x.id), [full.id]);
    assert.match(conflict.skipped[0]?.reason ?? '', /another set under this id \(other volumes\)/);
  });

  it('continues an unfinished folder of a dead run, leaves one another run is writing', () => {
    const plan = planReplication({
      target: dest('t', [], [{ id: full.id, resumable: true }, { id: incr.id, resumable: false }]),
      sources: [dest('p', [full, incr])], select: mine, policy: FOREVER, now: NOW,
    });
    assert.deepEqual(plan.copies.map((c) => [c.set.id, c.resume]), [[full.id, true]]);
    assert.deepEqual(plan.skipped.map((s) => s.id), [incr.id]);
    assert.match(plan.skipped[0]?.reason ?? '', /another run is writing/);
  });

  it('does not copy what the target\'s own retention would remove now, but keeps what a kept set needs', () => {
    const old = desc('250105_FULL_docs', '2025-01-05T09:00:00Z');
    const oldIncr = desc('250106_INCR_docs', '2025-01-06T09:00:00Z', { base: old.id });
    const short: RetentionPolicy = { ...DEFAULT_RETENTION, daily: { n: 7, unit: 'd' }, weekly: { n: 4, unit: 'w' } };
    const plan = planReplication({ target: dest('t', []), sources: [dest('p', [old, oldIncr, full, incr])], select: mine, policy: short, now: NOW });
    assert.deepEqual(plan.copies.map((c) => c.set.id), [full.id, incr.id]);
    assert.deepEqual(plan.skipped.map((s) => [s.id, s.reason]), [[old.id, "expired under t's retention"], [oldIncr.id, "expired under t's retention"]]);
  });
});

describe('objectActions', () => {
  const d = desc('261129_FULL_docs', '2026-11-29T09:00:00Z');
  it('lists data, manifest, recovery and RESTORE.txt, never the descriptor', () => {
    assert.deepEqual(setCopyObjects(d).map((o) => o.name), ['261129_FULL_docs.7z.001', '261129_FULL_docs.7z.002', '261129_FULL_docs.manifest.7z', '261129_FULL_docs.par2', 'RESTORE.txt']);
  });

  it('keeps what is there intact, copies what is missing, replaces other bytes, reads back what has no known hash', () => {
    const [v1, v2, m, r] = setCopyObjects(d);
    assert.ok(v1 !== undefined && v2 !== undefined && m !== undefined && r !== undefined);
    const existing = new Map([
      [v1.key, { size: v1.size ?? 0, sha256: v1.sha256 ?? '' }],
      [v2.key, { size: (v2.size ?? 0) - 1 }],
      [m.key, { size: m.size ?? 0 }],
      [r.key, { size: r.size ?? 0, sha256: '9'.repeat(64) }],
    ]);
    assert.deepEqual(objectActions(setCopyObjects(d), existing).map((a) => a.action), ['skip', 'replace', 'check', 'replace', 'copy']);
  });
});
