/**
 * pipeline/backup/finalize: the last stage of a set. RESTORE.txt is stored, every object is read
 * back (size, SHA-256, tags) from the destination, then the descriptor is written — last: now the
 * set is complete — and only then does local state move forward: the resume journal goes, the
 * manifest is cached, the stat cache is committed and the git audit trail records the set.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { bufferSource } from '../../io/hash.js';
import { sealDescriptor, type ProtectionSummary, type StoredObject } from '../../core/descriptor.js';
import { RESTORE_TEXT, setObjectKey } from '../../core/keys.js';
import type { ProtectionPlan } from '../../core/protection/index.js';
import { StrataError } from '../../errors.js';
import { commitStatCache, type ScanResult } from '../../scan/index.js';
import { cachedManifestName } from '../manifests.js';
import { restoreFileRecord, restoreFileText } from '../restore-file.js';
import type { ByteSink } from '../../ui/meter.js';
import type { StoredManifest } from './manifest.js';
import type { Lap, SetInProgress } from './set.js';
import type { ArchiveResult, SourceResult } from './types.js';

/**
 * finalizeSet stores RESTORE.txt, checks every stored object, writes the descriptor and moves the
 * local state forward. It fills in the result's volume and byte counts and its warnings.
 */
export async function finalizeSet(set: SetInProgress, archive: ArchiveResult | null, manifest: StoredManifest, scan: ScanResult, statCache: string, result: SourceResult, lap: Lap): Promise<void> {
  const { req, run, setId } = set;
  // RESTORE.txt: the manifest's PAR2 commands first (a person reads the file list first too).
  const volumeObjects = archive?.volumes ?? [];
  const plan = archive?.plan ?? null;
  const summary = {
    id: setId, source: set.source.name, tier: set.tier, type: set.type, created: set.at.toISOString(), base: set.base, depends: manifest.depends,
    volumes: volumeObjects, manifest: manifest.object, ...(archive?.parts === undefined ? {} : { parts: archive.parts }),
  };
  // Made from what the descriptor records (and its hash recorded there), so verify --repair can write it again.
  const restoreTxt = restoreFileText({ ...summary, manifestProtection: manifest.unit, protection: plan });
  await run.repo.put(setId, RESTORE_TEXT, bufferSource(restoreTxt), { tags: set.tagsFor(RESTORE_TEXT), overwrite: set.resumed });
  // Every object is on the destination and checked before the descriptor is written.
  const recovery = [...(archive?.recovery ?? []), ...manifest.recovery];
  const uploads: StoredObject[] = [...volumeObjects, manifest.object, ...recovery];
  await readBack(set, uploads, result, lap.track(uploads.reduce((n, o) => n + o.size, 0)));
  lap('read-back', uploads.reduce((n, o) => n + o.size, 0), 'finalize');
  // The descriptor, last: now the set is complete.
  const descriptor = sealDescriptor(
    {
      format: 'strata-set', version: 1, job: req.config.job, machine: req.machine, ...summary,
      protection: plan === null ? null : protectionSummary(plan),
      manifestProtection: manifest.unit,
      recovery,
      stats: { files: scan.totalFiles, bytes: scan.totalBytes, archivedFiles: result.archivedFiles, archivedBytes: scan.bytesToArchive, added: scan.added, modified: scan.modified, deleted: scan.deleted },
      tool: { strata: req.version, '7zz': req.tools.sevenZip.version, par2: req.tools.parity.version },
      kdf: run.kdf,
      restoreText: restoreFileRecord(restoreTxt),
    },
    req.password,
  );
  await run.repo.writeDescriptor(descriptor);
  await run.repo.clearPending(setId);
  set.completed = true;
  // After the descriptor: a crash before this leaves a journal of a complete set, which the
  // next run recognises as such and removes.
  await set.journal?.remove();
  result.volumes = volumeObjects.length;
  result.storedBytes = uploads.reduce((s, o) => s + o.size, 0);
  // Local state moves forward only now.
  await fsp.mkdir(run.paths.manifests, { recursive: true });
  // Through a temporary name: a copy cut short by a crash must never pass for the manifest.
  const cachedManifest = path.join(run.paths.manifests, cachedManifestName(descriptor));
  await fsp.copyFile(manifest.plain, `${cachedManifest}.tmp`);
  await fsp.rename(`${cachedManifest}.tmp`, cachedManifest);
  await commitStatCache(scan.newStatCache, statCache);
  await run.audit.commit({ source: set.source.name, manifestFile: manifest.plain, date: set.at, tier: set.tier, type: set.type, setId, summary: { added: scan.added, modified: scan.modified, deleted: scan.deleted } });
  lap('finalize');
}

/**
 * readBack checks every object on the destination against what was uploaded (size, and SHA-256
 * where the provider reports one), and warns when tags did not stick.
 */
async function readBack(set: SetInProgress, uploads: readonly StoredObject[], result: SourceResult, sink: ByteSink): Promise<void> {
  const { setId } = set;
  const untagged: string[] = [];
  for (const obj of uploads) {
    const key = setObjectKey(setId, obj.name);
    const info = await set.req.backend.stat(key);
    sink.add(obj.size, obj.name);
    if (info.size !== obj.size || (info.sha256 !== undefined && info.sha256 !== obj.sha256)) {
      throw new StrataError('CHECKSUM', `${key} on the destination does not match what was uploaded`, { hint: 'Run the backup again; the set was not marked complete.' });
    }
    // Tags are read back: some providers accept them and keep nothing (Ceph drops those sent
    // with a multipart upload, which is why they are set afterwards). The data is intact, so the
    // set is complete, but lifecycle rules by tag will not see these objects: say so.
    const tags = set.tagsFor(obj.name);
    if (info.tags !== undefined && Object.entries(tags).some(([k, v]) => info.tags?.[k] !== v)) untagged.push(obj.name);
  }
  if (untagged.length > 0) {
    result.warnings.push(`${setId}: ${untagged.length} of ${uploads.length} objects on the destination do not carry their tags (${Object.keys(set.tagsFor('')).join(', ')}), e.g. ${untagged[0] ?? ''}: the provider did not keep them, so lifecycle rules by tag will not apply to them`);
  }
}

function protectionSummary(plan: ProtectionPlan): ProtectionSummary {
  const { setId: _s, tier: _t, volumeSizes: _v, ...rest } = plan;
  return rest;
}
