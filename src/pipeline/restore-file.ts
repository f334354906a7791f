/**
 * pipeline/restore-file: the RESTORE.txt of a set, made from what its descriptor records, so that
 * backup writes it and `verify --repair` writes it again byte for byte (core/restore-text renders
 * it; the par2 command lines come from the units the descriptor lists). New descriptors record its
 * size and SHA-256 (`restoreText`), which verify compares with what is on the destination.
 */
import { bufferSource, sha256Hex } from '../io/hash.js';
import type { Descriptor } from '../core/descriptor.js';
import type { ProtectionUnit } from '../core/protection/index.js';
import { restoreText } from '../core/restore-text.js';
import { StrataError, isStrataError } from '../errors.js';
import { stockRepairCommands } from '../parity/repair.js';
import type { Repository } from '../repository/repository.js';
import { RESTORE_TEXT, objectTags, restoreTextKey } from '../core/keys.js';

/** RESTORE_TEXT is the name of the file beside every set's objects. */

/** RestoreFileInput is the part of a descriptor RESTORE.txt is made from. */
export type RestoreFileInput = Pick<Descriptor, 'id' | 'source' | 'tier' | 'type' | 'created' | 'base' | 'depends' | 'volumes' | 'manifest' | 'parts'> & {
  manifestProtection?: ProtectionUnit | null | undefined;
  protection: { units: ProtectionUnit[] } | null;
};

/** restoreFileText renders a set's RESTORE.txt: the manifest's PAR2 commands first (a person reads the file list first too). */
export function restoreFileText(d: RestoreFileInput): string {
  const units = [...(d.manifestProtection != null ? [d.manifestProtection] : []), ...(d.protection?.units ?? [])];
  const { id, source, tier, type, created, base, depends, volumes, manifest, parts } = d;
  return restoreText({ id, source, tier, type, created, base, depends, volumes, manifest, ...(parts === undefined ? {} : { parts }), par2Commands: stockRepairCommands({ units, volumeNames: [] }) });
}

/** restoreFileRecord is the size and SHA-256 a descriptor records for RESTORE.txt. */
export function restoreFileRecord(text: string): { size: number; sha256: string } {
  const bytes = Buffer.from(text, 'utf8');
  return { size: bytes.length, sha256: sha256Hex(bytes) };
}

/** RestoreFileState is what verify found: as recorded, missing, changed, or not recorded (an older set). */
export type RestoreFileState = 'ok' | 'missing' | 'changed' | 'not-covered';

/** checkRestoreFile compares the set's RESTORE.txt on the destination with its descriptor's record. */
export async function checkRestoreFile(repo: Repository, d: Descriptor): Promise<{ state: RestoreFileState; detail: string }> {
  const rec = d.restoreText;
  if (rec === undefined) return { state: 'not-covered', detail: `${RESTORE_TEXT}: not covered (made by an older version)` };
  let bytes: Buffer;
  try {
    bytes = await repo.readSmall(restoreTextKey(d.id), Math.max(rec.size, 1 << 20));
  } catch (e) {
    if (isStrataError(e, 'NOT_FOUND')) return { state: 'missing', detail: `${RESTORE_TEXT} is missing` };
    if (isStrataError(e, 'DAMAGED')) return { state: 'changed', detail: `${RESTORE_TEXT} has been changed (it is far larger than recorded)` };
    throw e;
  }
  const sha = sha256Hex(bytes);
  if (bytes.length === rec.size && sha === rec.sha256) return { state: 'ok', detail: `${RESTORE_TEXT} ok` };
  return { state: 'changed', detail: `${RESTORE_TEXT} has been changed or damaged (${bytes.length} bytes, sha256 ${sha.slice(0, 12)}…; recorded ${rec.size} bytes, ${rec.sha256.slice(0, 12)}…)` };
}

/** rewriteRestoreFile writes RESTORE.txt again from the descriptor, after checking it hashes as recorded. */
export async function rewriteRestoreFile(repo: Repository, d: Descriptor): Promise<void> {
  const rec = d.restoreText;
  if (rec === undefined) throw new StrataError('INTERNAL', `set ${d.id} records no ${RESTORE_TEXT}`);
  const text = restoreFileText(d);
  const made = restoreFileRecord(text);
  if (made.size !== rec.size || made.sha256 !== rec.sha256) {
    throw new StrataError('DAMAGED', `${d.id}/${RESTORE_TEXT}: the text made from the descriptor does not hash as recorded`, { hint: 'This version renders RESTORE.txt differently from the one that made the set.' });
  }
  await repo.put(d.id, RESTORE_TEXT, bufferSource(text), { sha256: made.sha256, overwrite: true, tags: objectTags(d, RESTORE_TEXT) });
}
