/**
 * pipeline/backup/parity: completing a set whose archive is written — shared by a normal run
 * (after 7-Zip) and a resume. Whatever of the journaled archive is not on the destination yet is
 * stored: volumes, recovery files of units already made, then the PAR2 units the final plan still
 * lacks (made from the local volumes, journaled before their upload).
 */
import * as fsp from 'node:fs/promises';
import { canonicalJson } from '../../core/descriptor.js';
import { planProtection, planStreaming, protectionShortfall, type ProtectionConfig, type ProtectionPlan } from '../../core/protection/index.js';
import type { Tier } from '../../core/naming.js';
import { StrataError } from '../../errors.js';
import { hashFile } from '../../io/hash.js';
import type { ByteSink } from '../../ui/meter.js';
import { formatBytes } from '../../ui/output.js';
import { stored, type Journal, type JournalObject, type JournalUnit } from './journal.js';
import type { SetInProgress } from './set.js';
import type { ArchiveResult } from './types.js';

/** planFor plans the journaled archive's PAR2 protection exactly as the streaming run would. */
export function planFor(setId: string, tier: Tier, j: Journal, protection: ProtectionConfig): { plan: ProtectionPlan; mismatch: string | null } {
  const input = { setId, tier, volumeSizes: j.body.volumes.map((v) => v.size) };
  const plan = j.body.layout === null ? planProtection(input, protection) : planStreaming(input, j.body.layout, protection);
  for (const { unit } of j.body.units) {
    const planned = plan.units.find((u) => u.name === unit.name);
    if (planned === undefined || canonicalJson(planned) !== canonicalJson(unit)) {
      return { plan, mismatch: `PAR2 unit ${unit.name} made while archiving is not in the final plan (made ${canonicalJson(unit)}, planned ${planned === undefined ? 'none' : canonicalJson(planned)}; ${input.volumeSizes.length} volumes, plan ${plan.units.map((u) => u.name).join(' ')})` };
    }
  }
  return { plan, mismatch: null };
}

/** uploadJournaled stores one journaled object from its local copy and records that it is there. */
export async function uploadJournaled(set: SetInProgress, j: Journal | null, o: JournalObject, sink?: ByteSink): Promise<void> {
  const signal = set.req.signal;
  if (signal.aborted) throw new StrataError('CANCELLED', 'backup cancelled');
  // The backend checks the bytes against the journaled SHA-256: a changed local copy fails here.
  await set.store(o.name, o.sha256, signal, sink);
  o.uploaded = true;
  await j?.save();
}

/**
 * completeArchive stores whatever of a written archive is not on the destination yet: volumes,
 * recovery files of units already made, then the units the final plan still lacks (made from the
 * local volumes, journaled before their upload). The journal is saved after every object.
 * `track`, when given, gets the bytes this will handle (uploads, and PAR2's reading of the volumes)
 * and returns the sink that counts them as they go (the status line).
 */
export async function completeArchive(set: SetInProgress, j: Journal, track?: (total: number) => ByteSink): Promise<ArchiveResult> {
  const { req, out } = set;
  const { plan, mismatch } = planFor(set.setId, set.tier, j, req.config.protection);
  const toMake = plan.units.filter((unit) => !j.body.units.some((u) => u.unit.name === unit.name));
  const unitInput = (unit: { volumes: number[] }): number => unit.volumes.reduce((n, i) => n + (j.body.volumes[i]?.size ?? 0), 0);
  const sink = track?.(
    [...j.body.volumes, ...j.body.units.flatMap((u) => u.files)].filter((o) => !o.uploaded).reduce((n, o) => n + o.size, 0) + toMake.reduce((n, u) => n + unitInput(u) + u.recoveryBytes, 0),
  );
  for (const v of j.body.volumes) if (!v.uploaded) await uploadJournaled(set, j, v, sink);
  if (mismatch !== null) throw new StrataError('INTERNAL', mismatch, { hint: 'This is a strata bug; the set was not marked complete.' });
  for (const u of j.body.units) {
    for (const f of u.files) {
      if (f.uploaded) continue;
      await uploadJournaled(set, j, f, sink);
      await fsp.rm(set.file(f.name), { force: true });
    }
  }
  const names = j.body.volumes.map((v) => v.name);
  for (const unit of toMake) {
    // PAR2 reports the share of its work done: counted as that share of the volumes it reads.
    const input = unitInput(unit);
    let counted = 0;
    const onProgress = (fraction: number): void => {
      const now = Math.round(Math.min(1, fraction) * input);
      sink?.add(now - counted, `PAR2 ${unit.name}`);
      counted = now;
    };
    const files = await req.tools.parity.create(unit, set.setDir, names, { signal: req.signal, onProgress });
    const ju: JournalUnit = { unit, files: [] };
    for (const f of files) ju.files.push({ name: f, ...(await hashFile(set.file(f))), uploaded: false });
    j.body.units.push(ju);
    await j.save();
    for (const f of ju.files) {
      await uploadJournaled(set, j, f, sink);
      await fsp.rm(set.file(f.name), { force: true });
    }
    set.emit({ kind: 'unit-created', name: unit.name, volumes: unit.volumes, early: false });
    out.verbose(`${unit.name}: PAR2 made and stored (at the end)`);
  }
  const byName = new Map(j.body.units.map((u) => [u.unit.name, u.files]));
  return { volumes: j.body.volumes.map(stored), plan, recovery: plan.units.flatMap((u) => (byName.get(u.name) ?? []).map(stored)), ...(j.body.parts === undefined ? {} : { parts: j.body.parts }) };
}

/**
 * shortfallWarning says when a streamed set got less protection than the table asks for its
 * final size. Its layout and redundancy were fixed while 7-Zip was still writing, from an estimate
 * of the size (7-Zip's output so far over its progress); data that compresses unevenly can move
 * the final size into another size class. The recovery data already made and uploaded cannot be
 * changed, so the set keeps what it got (its guarantees, from what was made, are in strata list
 * --protection), and the user is told rather than left to believe the table.
 */
export function shortfallWarning(set: SetInProgress, archive: ArchiveResult): string | null {
  const volumeSizes = archive.volumes.map((v) => v.size);
  const ideal = protectionShortfall(archive.plan, { setId: set.setId, tier: set.tier, volumeSizes }, set.req.config.protection);
  if (ideal === null) return null;
  const got = archive.plan;
  const total = volumeSizes.reduce((a, b) => a + b, 0);
  return `PAR2 was planned while 7-Zip was writing, from an estimated size: for the final ${formatBytes(total)} the table asks ${ideal.strategy} ${ideal.redundancyPercent}% (size class ${ideal.sizeClass}), the set got ${got.strategy} ${got.redundancyPercent}% (size class ${got.sizeClass}); strata list --protection --set ${set.setId} shows what it survives`;
}
