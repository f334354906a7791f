/**
 * core/keys: the names of a set's objects on a destination and the keys they are stored under.
 * Every object of set `<id>` lives in the folder `<id>/`; no other module builds `${id}/${name}`.
 */

/** RESTORE_TEXT is the plain-text recovery guide stored beside every set. */
export const RESTORE_TEXT = 'RESTORE.txt';

/** setObjectKey is where object `name` of set `setId` is stored. */
export function setObjectKey(setId: string, name: string): string {
  return `${setId}/${name}`;
}

/** descriptorName is the file name of a set's descriptor. */
export function descriptorName(id: string): string {
  return `${id}.strata.json`;
}

/** descriptorKey is where a set's descriptor lives. */
export function descriptorKey(id: string): string {
  return setObjectKey(id, descriptorName(id));
}

/** isDescriptorKey tells whether a key names a descriptor (of any set). */
export function isDescriptorKey(key: string): boolean {
  return key.endsWith('.strata.json');
}

/** pendingKey is where a set's in-progress marker lives. */
export function pendingKey(id: string): string {
  return setObjectKey(id, `${id}.pending`);
}

/** restoreTextKey is where a set's RESTORE.txt lives. */
export function restoreTextKey(id: string): string {
  return setObjectKey(id, RESTORE_TEXT);
}

/** manifestFileName is the name of the plaintext manifest inside `<set>.manifest.7z`. */
export function manifestFileName(setId: string): string {
  return `${setId}.manifest.jsonl`;
}

/** manifestArchiveName is the name of a set's encrypted manifest object. */
export function manifestArchiveName(setId: string): string {
  return `${setId}.manifest.7z`;
}

/**
 * isSetObjectKey tells whether a key is one of the objects strata writes for set `id`: inside the
 * set's folder, `RESTORE.txt`, a file named `<id>.…` (volumes, manifest, PAR2, marker,
 * descriptor) or a recovery file in a group folder `<id>_NNNN-NNNN/<id>_NNNN-NNNN….`.
 */
export function isSetObjectKey(id: string, key: string): boolean {
  if (!key.startsWith(`${id}/`)) return false;
  const rel = key.slice(id.length + 1);
  if (rel === RESTORE_TEXT) return true;
  if (rel.startsWith(`${id}.`) && !rel.includes('/')) return true;
  const m = /^([^/]+)\/([^/]+)$/.exec(rel);
  if (m === null) return false;
  const unit = m[1] ?? '';
  return unit.startsWith(`${id}_`) && /^_\d+-\d+$/.test(unit.slice(id.length)) && (m[2] ?? '').startsWith(`${unit}.`);
}
