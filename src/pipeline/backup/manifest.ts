/**
 * pipeline/backup/manifest: the manifest stage. The scan's entries, under a header, become the
 * set's manifest: encrypted as its own small archive, with its own PAR2 set beside it (100 %), and
 * stored. A resumed set reuses what an earlier run made from the very same manifest text.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { StoredObject } from '../../core/descriptor.js';
import { manifestArchiveName, manifestFileName } from '../../core/keys.js';
import { serializeHeader, type ManifestHeader } from '../../core/manifest.js';
import { manifestUnit, type ProtectionUnit } from '../../core/protection/index.js';
import { hashFile } from '../../io/hash.js';
import { readEntries } from '../manifests.js';
import { stored, type JournalManifest, type JournalObject } from './journal.js';
import { uploadJournaled } from './parity.js';
import type { SetInProgress } from './set.js';

/**
 * MANIFEST_LEVEL is the 7-Zip level of the encrypted manifest archive. 1, not 5: a manifest is
 * repetitive JSON, on which level 5's binary-tree match finder is very slow; measured on the
 * 200,000-entry manifest of 200,000 tiny files (50 MB), level 5 took 28 s of CPU for 7.8 MB, level
 * 1 1.5 s for 9.4 MB (level 3: 4.0 s, 9.1 MB). Any level is the same LZMA2 + AES format.
 */
const MANIFEST_LEVEL = 1;

/** StoredManifest is the set's manifest as written and stored. */
export interface StoredManifest {
  /** The plaintext manifest in the work folder (copied to the local state once the set is complete). */
  plain: string;
  object: StoredObject;
  unit: ProtectionUnit;
  recovery: StoredObject[];
  /** The sets whose volumes the manifest's entries point into (this one too when it has volumes). */
  depends: string[];
}

/**
 * writeSetManifest writes, encrypts, protects and stores the manifest of a set. `scanSets` are the
 * sets the scan's entries name (ScanResult.sets): given when the entries file is the scan's own,
 * they spare reading the whole manifest back; without them (entries reverted after the archive)
 * the manifest is read.
 */
export async function writeSetManifest(set: SetInProgress, entriesFile: string, hasVolumes: boolean, scanSets?: readonly string[]): Promise<StoredManifest> {
  const header: ManifestHeader = { strata: 'manifest', version: 1, set: set.setId, source: set.source.name, type: set.type, tier: set.tier, created: set.at.toISOString(), base: set.base };
  const plain = path.join(set.work, manifestFileName(set.setId));
  const plainSha256 = await writeManifest(plain, header, entriesFile);
  const depends = new Set<string>(scanSets);
  if (scanSets === undefined) for await (const e of readEntries(plain)) if (e.set !== undefined && (e.type === 'file' || e.type === 'symlink')) depends.add(e.set);
  if (hasVolumes) depends.add(set.setId);
  const jm = await makeManifest(set, plainSha256);
  return { plain, object: stored(jm.object), unit: jm.unit, recovery: jm.recovery.map(stored), depends: [...depends].sort() };
}

/** writeManifest writes the header and the entries to `file` and returns the SHA-256 of what it
 *  wrote (hashed on the way: 50 MB at 200,000 files are not read a second time). */
async function writeManifest(file: string, header: ManifestHeader, entriesFile: string): Promise<string> {
  const ws = createWriteStream(file);
  const h = createHash('sha256');
  const head = serializeHeader(header) + '\n';
  h.update(head);
  ws.write(head);
  for await (const chunk of createReadStream(entriesFile)) {
    h.update(chunk as Buffer);
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
  return h.digest('hex');
}

/**
 * makeManifest encrypts the manifest and makes its PAR2 set, or — resuming — reuses the ones a
 * previous run made from the very same manifest text (7-Zip's random salt would make new bytes),
 * then stores what is not on the destination yet.
 */
async function makeManifest(set: SetInProgress, plainSha256: string): Promise<JournalManifest> {
  const { req } = set;
  const j = set.journal;
  let jm = j?.body.manifest ?? null;
  if (jm === null || jm.plainSha256 !== plainSha256) {
    const manifestListFile = path.join(set.work, 'manifest.list');
    await fsp.writeFile(manifestListFile, manifestFileName(set.setId) + '\n');
    const manifestName = manifestArchiveName(set.setId);
    const archivePath = set.file(manifestName);
    // 7-Zip adds to an existing archive: a stale one from an earlier attempt must go first.
    await fsp.rm(archivePath, { force: true });
    // Level 5, not 9: measured on a 20,000-entry manifest (4.1 MB), 0.27 s instead of 0.73 s for
    // a 12 % larger result (310 KB instead of 277 KB); the gap grows with the file count.
    await req.tools.sevenZip.create({ cwd: set.work, archivePath, listFile: manifestListFile, extraPaths: [], password: req.password, level: MANIFEST_LEVEL, fileCount: 1, signal: req.signal });
    const object: JournalObject = { name: manifestName, ...(await hashFile(archivePath)), uploaded: false };
    const unit = manifestUnit(set.setId, object.size);
    const recovery: JournalObject[] = [];
    // Made at the end of the run, when the process holds the most; small next to the volumes, so
    // the engine's small buffers cost little time (issue 11: at most 200 MB at a million files).
    for (const f of await req.tools.parity.create(unit, set.setDir, [manifestName], { signal: req.signal, lowMemory: true })) recovery.push({ name: f, ...(await hashFile(set.file(f))), uploaded: false });
    jm = { plainSha256, object, unit, recovery };
    if (j !== null) {
      j.body.manifest = jm;
      await j.save();
    }
  }
  for (const o of [jm.object, ...jm.recovery]) if (!o.uploaded) await uploadJournaled(set, j, o);
  return jm;
}
