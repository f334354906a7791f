/**
 * pipeline/audit-rebuild: the git audit trail made again from the manifests on the destination, for
 * a machine that has none (a new laptop after the old one was lost). Each set's manifest is the
 * whole state of its source at that moment, so committing them in the order they were made gives
 * the same history `strata backup` records (src/audit): `history` and `log` read it as usual.
 *
 * The rebuilt trail is kept apart from the machine's own (in `<job state>/audit-rebuilt/<key>`),
 * one per job and machine it was made from, and brought up to date on the next use: sets made since
 * are appended; when the destination's sets no longer fit (an older set appears), it is made anew.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { AuditTrail } from '../audit/audit.js';
import { identityKey } from '../core/catalog.js';
import type { Descriptor } from '../core/descriptor.js';
import type { Manifests } from './browse.js';
import { errnoCode, isStrataError } from '../errors.js';

/** RebuiltTrail is a rebuilt audit trail and the sets it holds. */
export interface RebuiltTrail {
  audit: AuditTrail;
  /** Every set the trail records, oldest first. */
  sets: string[];
  /** The sets committed by this run (all of them when it was made now). */
  added: string[];
  /** Whether the trail was made from nothing by this run. */
  created: boolean;
}

/** rebuiltTrailDir names the folder of the trail rebuilt from these sets' job(s) and machine. */
export function rebuiltTrailDir(jobDir: string, sets: readonly Descriptor[]): string {
  const keys = [...new Set(sets.map(identityKey))].sort();
  const host = (sets.find((s) => s.machine !== undefined)?.machine?.host ?? 'legacy').replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 12);
  return path.join(jobDir, 'audit-rebuilt', `${host}-${hash}`);
}

/**
 * rebuildAuditTrail brings the trail in `dir` up to date with `sets` (one job and machine, oldest
 * first): each set's manifest is fetched (pipeline/browse) and committed dated at the set's time.
 */
export async function rebuildAuditTrail(dir: string, sets: readonly Descriptor[], manifests: Manifests, onSet?: (d: Descriptor) => void): Promise<RebuiltTrail> {
  const ids = sets.map((d) => d.id);
  const audit = new AuditTrail(dir);
  if (await audit.exists()) {
    const recorded = new Set((await audit.log()).map((r) => r.setId));
    const newest = sets.filter((d) => recorded.has(d.id)).at(-1);
    const newestTime = newest === undefined ? -Infinity : Date.parse(newest.created);
    // Sets made since are appended; a set older than one recorded, or a recorded set no longer on
    // the destination, cannot be: the trail is made anew.
    const appendable = !sets.some((d) => !recorded.has(d.id) && Date.parse(d.created) < newestTime) && [...recorded].every((id) => ids.includes(id));
    if (appendable) {
      try {
        const added = await commitSets(audit, sets.filter((d) => !recorded.has(d.id)), manifests, onSet);
        return { audit, sets: ids, added, created: false };
      } catch (e) {
        // A run killed mid-commit leaves git's locks: the trail is only a copy, made anew below.
        if (!isStrataError(e, 'TOOL_FAILED')) throw e;
      }
    }
  }
  // Made in a folder of its own and moved into place when complete: a trail that exists is whole.
  const work = `${dir}.new-${randomBytes(4).toString('hex')}`;
  try {
    const fresh = new AuditTrail(work);
    await fresh.init();
    const added = await commitSets(fresh, sets, manifests, onSet);
    await rm(dir, { recursive: true, force: true });
    try {
      await rename(work, dir);
    } catch (e) {
      // Another strata made it meanwhile: read that one.
      if (errnoCode(e) !== 'ENOTEMPTY' && errnoCode(e) !== 'EEXIST') throw e;
    }
    return { audit, sets: ids, added, created: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** commitSets commits each set's manifest, in order, dated at the set's time; it returns their ids. */
async function commitSets(audit: AuditTrail, sets: readonly Descriptor[], manifests: Manifests, onSet?: (d: Descriptor) => void): Promise<string[]> {
  const added: string[] = [];
  for (const d of sets) {
    onSet?.(d);
    const manifestFile = await manifests.file(d);
    // The run's record: the tier the set was made with (a promoted set records it in promotedFrom).
    await audit.commit({ source: d.source, manifestFile, date: new Date(d.created), tier: d.promotedFrom ?? d.tier, type: d.type, setId: d.id, summary: d.stats });
    added.push(d.id);
  }
  return added;
}
