/**
 * pipeline/backup/resume: whether a journaled set (its archive written by an earlier run, not yet
 * complete on the destination) can be resumed by this run, and discarding it when not. The journal
 * itself is journal.ts; the sweep that finds candidates is housekeeping.ts.
 */
import * as path from 'node:path';
import type { Backend } from '../../backend/backend.js';
import { hashStream } from '../../io/hash.js';
import type { StoredObject } from '../../core/descriptor.js';
import { setObjectKey } from '../../core/keys.js';
import { StrataError, isStrataError } from '../../errors.js';
import { hashFile } from '../../io/hash.js';
import { discardLocal } from './housekeeping.js';
import { setStaging, type ResumeCandidate } from './journal.js';
import { planFor } from './parity.js';
import type { SetInProgress } from './set.js';

/**
 * destinationHas tells whether an object is on the destination intact. Size alone never proves it:
 * without a SHA-256 from the provider (rclone, WebDAV without properties), an object kept here
 * intact is simply stored again, and one that is not is read back and hashed.
 */
async function destinationHas(backend: Backend, key: string, o: StoredObject, keptHere: () => Promise<boolean>): Promise<boolean> {
  let info;
  try {
    info = await backend.stat(key);
  } catch (e) {
    if (isStrataError(e, 'NOT_FOUND')) return false;
    throw e;
  }
  if (info.size !== o.size) return false;
  if (info.sha256 !== undefined) return info.sha256 === o.sha256;
  // A destination that is a local folder is read in place: a damaged object is not trusted by its size.
  const local = backend.localPath?.(key);
  if (local !== undefined) {
    try {
      return (await hashFile(local)).sha256 === o.sha256;
    } catch {
      return false;
    }
  }
  if (await keptHere()) return false;
  try {
    return (await hashStream(await backend.get(key), `reading back ${key}`, true)) === o.sha256;
  } catch (e) {
    if (isStrataError(e, 'NOT_FOUND')) return false;
    throw e;
  }
}

/**
 * checkResumable decides whether a journaled set can be resumed by the set this run makes: same
 * tier, type, base and settings, and every object either on the destination intact or here intact
 * (checked by SHA-256), including every volume of a PAR2 unit still to be made. It marks in the
 * journal which objects are on the destination. Returns null when it can be resumed, else why not.
 */
export async function checkResumable(set: SetInProgress, c: ResumeCandidate): Promise<string | null> {
  const { req } = set;
  const want = { tier: set.tier, type: set.type, base: set.base };
  const j = c.journal;
  const b = j.body;
  if (b.tier !== want.tier || b.type !== want.type || b.base !== want.base) return `it was a ${b.tier} ${b.type} set${b.base === null ? '' : ` on ${b.base}`}, this run makes a ${want.tier} ${want.type} set${want.base === null ? '' : ` on ${want.base}`}`;
  if (b.settings !== set.settings) return 'the archive or protection settings changed';
  const { plan, mismatch } = planFor(b.setId, b.tier, j, req.config.protection);
  if (mismatch !== null) return mismatch;
  const { setDir } = setStaging(set.run.paths.staging, b.setId);
  const localOk = new Map<string, boolean>();
  const hereIntact = async (o: StoredObject): Promise<boolean> => {
    let ok = localOk.get(o.name);
    if (ok === undefined) {
      try {
        const h = await hashFile(path.join(setDir, o.name));
        ok = h.size === o.size && h.sha256 === o.sha256;
      } catch {
        ok = false;
      }
      localOk.set(o.name, ok);
    }
    return ok;
  };
  for (const o of [...b.volumes, ...b.units.flatMap((u) => u.files)]) {
    if (req.signal.aborted) throw new StrataError('CANCELLED', 'backup cancelled');
    o.uploaded = await destinationHas(req.backend, setObjectKey(b.setId, o.name), o, () => hereIntact(o));
    if (!o.uploaded && !(await hereIntact(o))) return `${o.name} is neither on the destination intact nor kept here`;
  }
  // Units still to be made are made from local volumes (volumes released while archiving are
  // covered by units already made, so this holds unless the staging folder was tampered with).
  for (const unit of plan.units) {
    if (b.units.some((u) => u.unit.name === unit.name)) continue;
    for (const i of unit.volumes) {
      const v = b.volumes[i];
      if (v === undefined || !(await hereIntact(v))) return `volume ${i + 1}, needed for PAR2 ${unit.name}, is not kept here intact`;
    }
  }
  // The manifest is cheap to make again: a part that is lost means a new one, not a new set.
  if (b.manifest !== null) {
    for (const o of [b.manifest.object, ...b.manifest.recovery]) {
      o.uploaded = await destinationHas(req.backend, setObjectKey(b.setId, o.name), o, () => hereIntact(o));
      if (!o.uploaded && !(await hereIntact(o))) {
        b.manifest = null;
        break;
      }
    }
  }
  await j.save();
  return null;
}

/** discard gives up a journaled set: its local files, journal and objects on the destination go, and its name is free again. */
export async function discard(set: SetInProgress, c: ResumeCandidate, reason: string): Promise<void> {
  const { run, out } = set;
  const id = c.journal.body.setId;
  out.info(`${set.source.name}: not resuming the unfinished set ${id} (${reason}); starting over`);
  await discardLocal(run.paths.staging, c.journal);
  await run.repo.removeSetObjects(id, c.keys);
  run.removedDebris.push(id);
  run.taken.delete(id);
  if (set.journal === c.journal) set.journal = null;
}
