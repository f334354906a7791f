/**
 * pipeline/manifests: getting a set's plaintext manifest onto this machine. A local copy is kept in
 * the job's state folder after each backup; on a fresh machine the encrypted manifest is fetched
 * from the destination, checked against the descriptor and opened with 7-Zip. A damaged or missing
 * manifest object is rebuilt from its own PAR2 set (descriptor.manifestProtection) first: without
 * its manifest a set cannot be restored at all.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { SevenZip } from '../archive/sevenzip.js';
import { readManifestEntries } from '../io/manifest-reader.js';
import type { Descriptor, StoredObject } from '../core/descriptor.js';
import { StrataError, errorMessage, isStrataError } from '../errors.js';
import type { ParityEngine } from '../parity/engine.js';
import { Par2CmdlineEngine } from '../parity/par2cmdline.js';
import type { Repository } from '../repository/repository.js';
import { hashFile } from '../io/hash.js';
import { manifestFileName, setObjectKey } from '../core/keys.js';

/**
 * cachedManifestName names the local plaintext copy of a set's manifest. It carries the SHA-256 of
 * the encrypted manifest object the descriptor (HMAC-checked) records, not only the set id: ids are
 * only unique on one destination and one day, so a set made again under the same id (a wiped
 * destination, another destination with the same state folder) must never be read from the copy
 * of an earlier set — restore would miss files and an INCR would be taken against the wrong state.
 */
export function cachedManifestName(desc: Pick<Descriptor, 'id' | 'manifest'>): string {
  return `${desc.id}.${desc.manifest.sha256.slice(0, 16)}.manifest.jsonl`;
}

/** isManifestCached tells whether a set's manifest is already on this machine. */
export async function isManifestCached(cacheDir: string, desc: Pick<Descriptor, 'id' | 'manifest'>): Promise<boolean> {
  try {
    await fsp.access(path.join(cacheDir, cachedManifestName(desc)));
    return true;
  } catch {
    return false;
  }
}

/**
 * ensureLocalManifest returns the path of a plaintext copy of a set's manifest, fetching it if
 * needed and repairing it from its PAR2 set when it is damaged or missing (with `parity`, else the
 * par2 on PATH); it throws DAMAGED when that is impossible.
 */
export async function ensureLocalManifest(repo: Repository, desc: Descriptor, sevenZip: SevenZip, password: string, cacheDir: string, parity?: ParityEngine): Promise<string> {
  const cached = path.join(cacheDir, cachedManifestName(desc));
  if (await isManifestCached(cacheDir, desc)) return cached;
  await fsp.mkdir(cacheDir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(cacheDir, '.fetch-'));
  try {
    const archive = path.join(work, desc.manifest.name);
    try {
      await repo.download(setObjectKey(desc.id, desc.manifest.name), archive, desc.manifest);
    } catch (e) {
      if (!isStrataError(e, 'DAMAGED') && !isStrataError(e, 'NOT_FOUND')) throw e;
      // Damaged or missing: rebuild it from its PAR2 set (the damaged copy stays: par2 uses its intact blocks).
      for (const o of manifestRecoveryObjects(desc)) await repo.download(setObjectKey(desc.id, o.name), path.join(work, o.name)).catch(() => undefined);
      const repaired = await repairManifest(desc, work, parity ?? (await Par2CmdlineEngine.open()));
      // Without its manifest a set cannot be read: that is damage to the set (exit 13), however
      // the object went (a missing object alone would be NOT_FOUND, exit 1).
      if (!repaired) {
        throw new StrataError('DAMAGED', `the manifest of set ${desc.id} is ${isStrataError(e, 'NOT_FOUND') ? 'missing' : 'damaged'} on the destination and its PAR2 files could not rebuild it (${errorMessage(e)})`, {
          hint: 'This set cannot be read without it: restore another set (`strata list`, then --set ID), or put the set\'s objects back from a copy of the destination.',
          cause: e,
        });
      }
    }
    const out = path.join(work, 'out');
    try {
      await sevenZip.extract({ archive, outDir: out, password });
    } catch (e) {
      if (isStrataError(e, 'WRONG_PASSWORD')) {
        // The password was checked against the descriptor already: this is damage.
        throw new StrataError('DAMAGED', `the manifest of set ${desc.id} cannot be decrypted although its hash matched`, { hint: 'The set was written with another password or tampered with.', cause: e });
      }
      throw e;
    }
    const tmp = `${cached}.tmp`;
    await fsp.rename(path.join(out, manifestFileName(desc.id)), tmp);
    await fsp.rename(tmp, cached);
    return cached;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

/** readEntries streams only the live entries of a manifest (io/manifest-reader readManifestEntries). */
export const readEntries = readManifestEntries;

/** manifestRecoveryObjects lists the recovery objects of a set's manifest PAR2 set (none for older sets). */
export function manifestRecoveryObjects(desc: Descriptor): StoredObject[] {
  const unit = desc.manifestProtection;
  if (unit === undefined || unit === null) return [];
  const prefix = `${unit.name}.`;
  return desc.recovery.filter((o) => o.name.startsWith(prefix) && /^(vol\d+\+\d+\.)?par2$/.test(o.name.slice(prefix.length)));
}

/**
 * repairManifest rebuilds `<dir>/<manifest>` from the manifest's PAR2 files in `dir` and says
 * whether it now matches the descriptor. False when the set has no manifest PAR2 set or par2
 * cannot rebuild it.
 */
export async function repairManifest(desc: Descriptor, dir: string, parity: ParityEngine): Promise<boolean> {
  const unit = desc.manifestProtection;
  if (unit === undefined || unit === null) return false;
  try {
    const r = await parity.repair(unit, dir);
    if (r.status === 'unrepairable') return false;
  } catch (e) {
    if (isStrataError(e, 'DAMAGED')) return false;
    throw new StrataError('TOOL_FAILED', `repairing the manifest of set ${desc.id}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const h = await hashFile(path.join(dir, desc.manifest.name));
    return h.size === desc.manifest.size && h.sha256 === desc.manifest.sha256;
  } catch {
    return false;
  }
}
