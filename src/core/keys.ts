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

/** archiveName is the name 7-Zip is given for a set's data archive; its volumes are `<set>.7z.001`, … */
export function archiveName(setId: string): string {
  return `${setId}.7z`;
}

/**
 * partArchiveName is the archive of part `k` (0-based) of a set (core/parts): part 0 is today's
 * `<set>.7z` (every set made before parts existed is one such part), part k ≥ 1 is `<set>.p<k+1>.7z`.
 */
export function partArchiveName(setId: string, k: number): string {
  return k === 0 ? archiveName(setId) : `${setId}.p${k + 1}.7z`;
}

/** partOfArchive is k for an archive name partArchiveName(setId, k) gives, or null for another name. */
export function partOfArchive(setId: string, archive: string): number | null {
  if (archive === archiveName(setId)) return 0;
  if (!archive.startsWith(`${setId}.p`) || !archive.endsWith('.7z')) return null;
  const k = archive.slice(setId.length + 2, -3);
  return /^[1-9]\d{0,3}$/.test(k) && Number(k) >= 2 ? Number(k) - 1 : null;
}

/** splitVolumeName is volume `number` (1-based) of a split archive named `archive`: `<archive>.001`. */
export function splitVolumeName(archive: string, number: number): string {
  return `${archive}.${String(number).padStart(3, '0')}`;
}

/** parseSplitVolumeName reads `<archive>.NNN` back (NNN: three digits or more), or null. */
export function parseSplitVolumeName(name: string): { archive: string; number: number } | null {
  const m = /^(.*)\.(\d{3,})$/.exec(name);
  return m === null ? null : { archive: m[1] ?? '', number: Number(m[2]) };
}

/** volumeFileName is the file name of volume `index` (0-based) of a set: `<set>.7z.001` for index 0. */
export function volumeFileName(setId: string, index: number): string {
  return splitVolumeName(archiveName(setId), index + 1);
}

/** volumeIndex is the 0-based index of a volume file name (`<set>.7z.001` → 0), or null for another name. */
export function volumeIndex(name: string): number | null {
  const v = parseSplitVolumeName(name);
  return v === null ? null : v.number - 1;
}

/** unitName names a group or window by its 1-based inclusive volume numbers: `<set>_0001-0040`. */
export function unitName(setId: string, first: number, last: number): string {
  return `${setId}_${String(first + 1).padStart(4, '0')}-${String(last + 1).padStart(4, '0')}`;
}

/** manifestUnitName is the par2 base name of the manifest's own PAR2 set: `<set>.manifest`. */
export function manifestUnitName(setId: string): string {
  return `${setId}.manifest`;
}

/** par2IndexName is the index file par2 writes for a unit: `<name>.par2`. */
export function par2IndexName(unitName: string): string {
  return `${unitName}.par2`;
}

/** par2IndexPath is a unit's index file relative to the set folder (inside the unit's folder, if any). */
export function par2IndexPath(unit: { name: string; dir: string }): string {
  return unit.dir === '' ? par2IndexName(unit.name) : `${unit.dir}/${par2IndexName(unit.name)}`;
}

/** par2FilePattern matches the file names par2 gives a unit's index and recovery files: `<name>.par2`, `<name>.volNN+MM.par2`. */
export function par2FilePattern(unitName: string): RegExp {
  const escaped = unitName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped}(?:\\.vol\\d+\\+\\d+)?\\.par2$`);
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

/**
 * ObjectKind is what lifecycle rules may do with an object: `data` (volumes and their recovery
 * files) may move to archive storage; `meta` (descriptor, manifest and its recovery files,
 * RESTORE.txt, markers) always stays readable, so list, the catalog, INCR planning, prune and
 * promotion never need an archived object.
 */
export type ObjectKind = 'data' | 'meta';

/** objectKind tells the kind of object `name` (a set-relative name, `dir/file` allowed) of set `setId`; anything not known to be data is meta. */
export function objectKind(setId: string, name: string): ObjectKind {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const v = parseSplitVolumeName(base);
  if (v !== null && partOfArchive(setId, v.archive) !== null) return 'data';
  if (base.endsWith('.par2') && base.startsWith(setId) && !base.startsWith(`${manifestUnitName(setId)}.`)) return 'data';
  return 'meta';
}

/** objectTags are the tags object `name` of a set carries on a destination that keeps tags (lifecycle rules select by them). */
export function objectTags(set: { id: string; tier: string; type: string }, name: string): Record<string, string> {
  return { tier: set.tier, type: set.type, set: set.id, kind: objectKind(set.id, name) };
}
