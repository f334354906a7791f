/**
 * pipeline/backup: one backup run of a job — for each source: scan → encrypted 7-Zip volumes →
 * manifest → PAR2 → upload → descriptor (last) → local state and git audit trail.
 *
 * Crash safety: a set counts as complete only once its descriptor exists, and the descriptor is
 * written after every other object is stored and verified. The stat cache and the local manifest
 * copy move forward only after that, so a run killed at any moment makes the next run back up
 * everything changed since the last complete set; the next run also removes the debris.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import type { SevenZip } from '../archive/sevenzip.js';
import { isListFileSafe } from '../core/sevenzip.js';
import { AuditTrail } from '../audit/audit.js';
import type { Backend } from '../backend/backend.js';
import { fileSource, bufferSource } from '../backend/local.js';
import { latestFor } from '../core/catalog.js';
import { checkDescriptor, defaultKdf, sealDescriptor, type Descriptor, type StoredObject } from '../core/descriptor.js';
import { serializeHeader, type ManifestHeader } from '../core/manifest.js';
import { makeSetId, resolveTier, type SetType, type Tier } from '../core/naming.js';
import { planProtection, type ProtectionPlan } from '../core/protection.js';
import type { ProtectionSummary } from '../core/descriptor.js';
import { restoreText } from '../core/restore-text.js';
import type { ParityEngine } from '../parity/engine.js';
import { stockRepairCommands } from '../parity/repair.js';
import type { StrataConfig, SourceConfig } from '../config/schema.js';
import { StrataError, errorMessage } from '../errors.js';
import { acquireLock } from '../repository/lock.js';
import { Repository, hashFile } from '../repository/repository.js';
import { scanSource, finalizeAfterArchive, commitStatCache, type ScanResult } from '../scan/index.js';
import type { Output } from '../ui/output.js';
import { formatBytes } from '../ui/output.js';
import type { Clock } from '../clock.js';
import { ensureLocalManifest, manifestArchiveName, manifestFileName, readEntries } from './manifests.js';

/** Tools are the external programs a backup drives. */
export interface Tools {
  sevenZip: SevenZip;
  parity: ParityEngine;
}

/** BackupRequest is everything one backup run needs. */
export interface BackupRequest {
  config: StrataConfig;
  tier: Tier | 'auto';
  backend: Backend;
  /** The job's own state folder (lock, stat caches, manifests, audit trail, staging). */
  jobDir: string;
  password: string;
  tools: Tools;
  out: Output;
  clock: Clock;
  signal: AbortSignal;
  version: string;
}

/** SourceResult is what happened to one source. */
export interface SourceResult {
  source: string;
  tier: Tier;
  type: SetType;
  setId: string | null;
  /** Why no set was written (nothing changed), if so. */
  skipped?: string;
  fullBecauseNoBase: boolean;
  added: number;
  modified: number;
  deleted: number;
  files: number;
  bytes: number;
  archivedFiles: number;
  archivedBytes: number;
  storedBytes: number;
  volumes: number;
  protection: string | null;
  errors: { path: string; message: string }[];
  warnings: string[];
}

/** BackupResult is the outcome of a run. */
export interface BackupResult {
  sources: SourceResult[];
  removedDebris: string[];
  partial: boolean;
}

/** jobPaths names the parts of a job's state folder. */
export function jobPaths(jobDir: string): { manifests: string; staging: string; cache: string; audit: string } {
  return {
    manifests: path.join(jobDir, 'manifests'),
    staging: path.join(jobDir, 'staging'),
    cache: path.join(jobDir, 'cache'),
    audit: path.join(jobDir, 'audit'),
  };
}

/** runBackup performs one backup run under the job lock. */
export async function runBackup(req: BackupRequest): Promise<BackupResult> {
  const now = req.clock.now();
  const lock = await acquireLock(req.jobDir, 'backup', now);
  try {
    return await backupLocked(req, now);
  } finally {
    await lock.release();
  }
}

async function backupLocked(req: BackupRequest, now: Date): Promise<BackupResult> {
  const { out } = req;
  const paths = jobPaths(req.jobDir);
  const repo = new Repository(req.backend);
  // Debris of crashed runs: local staging, and set folders on the destination without a descriptor.
  await fsp.rm(paths.staging, { recursive: true, force: true });
  const catalog = await repo.catalog();
  const removedDebris: string[] = [];
  for (const inc of catalog.incomplete) {
    if (!Repository.isDebris(inc.pending, now)) {
      out.warn(`set ${inc.id} is being written by another run (${inc.pending?.host ?? '?'} pid ${inc.pending?.pid ?? '?'}); leaving it alone`);
      continue;
    }
    await repo.removeSetObjects(inc.keys);
    removedDebris.push(inc.id);
    out.info(`removed the unfinished set ${inc.id} left by an interrupted run`);
  }
  for (const p of catalog.problems) out.warn(`set ${p.id}: ${p.message}`);
  const jobSets = catalog.complete.filter((d) => d.job === req.config.job);
  // One destination, one password: refuse to mix.
  const newest = [...catalog.complete].sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
  if (newest !== undefined) {
    const check = checkDescriptor(newest, req.password);
    if (check === 'wrong-password') {
      throw new StrataError('WRONG_PASSWORD', `the password does not match the sets already on ${req.backend.description}`, {
        hint: 'Use the password those sets were made with (a destination holds sets of one password).',
      });
    }
  }
  const taken = new Set<string>([...catalog.complete.map((d) => d.id), ...catalog.incomplete.map((i) => i.id)]);
  const audit = new AuditTrail(paths.audit);
  await audit.init();
  const results: SourceResult[] = [];
  for (const source of req.config.sources) {
    if (req.signal.aborted) throw new StrataError('CANCELLED', 'backup cancelled');
    const prev = latestFor(jobSets, source.name);
    const tier = resolveTier(req.tier, now, req.config.schedule.weeklyOn);
    const type: SetType = tier === 'daily' && prev !== undefined ? 'INCR' : 'FULL';
    const fullBecauseNoBase = tier === 'daily' && prev === undefined;
    if (fullBecauseNoBase) out.info(`${source.name}: no complete set yet, so this daily run makes a FULL set`);
    const setId = makeSetId(now, type, source.name, taken);
    taken.add(setId);
    const r = await backupSource(req, { source, prev, tier, type, setId, now, repo, audit, paths });
    r.fullBecauseNoBase = fullBecauseNoBase;
    results.push(r);
  }
  return { sources: results, removedDebris, partial: results.some((r) => r.errors.length > 0) };
}

interface SourceJob {
  source: SourceConfig;
  prev: Descriptor | undefined;
  tier: Tier;
  type: SetType;
  setId: string;
  now: Date;
  repo: Repository;
  audit: AuditTrail;
  paths: ReturnType<typeof jobPaths>;
}

async function backupSource(req: BackupRequest, job: SourceJob): Promise<SourceResult> {
  const { out, tools, password } = req;
  const { source, prev, tier, type, setId, now, repo, paths } = job;
  const archive = req.config.archive[tier];
  const setDir = path.join(paths.staging, setId);
  const work = path.join(paths.staging, `${setId}.work`);
  await fsp.mkdir(setDir, { recursive: true });
  await fsp.mkdir(work, { recursive: true });
  await fsp.mkdir(paths.cache, { recursive: true });
  const result: SourceResult = {
    source: source.name, tier, type, setId, fullBecauseNoBase: false, added: 0, modified: 0, deleted: 0, files: 0, bytes: 0,
    archivedFiles: 0, archivedBytes: 0, storedBytes: 0, volumes: 0, protection: null, errors: [], warnings: [],
  };
  try {
    await fsp.access(source.path).catch((e: unknown) => {
      throw new StrataError('CONFIG', `source ${source.name}: ${source.path} cannot be read (${errorMessage(e)})`, { hint: 'Check the source path in the configuration.' });
    });
    let previousManifest: string | undefined;
    if (prev !== undefined) {
      previousManifest = await ensureLocalManifest(repo, prev, tools.sevenZip, password, paths.manifests);
      // A crash after the previous set completed but before its audit commit is caught up here.
      await job.audit.commit({ source: source.name, manifestFile: previousManifest, date: new Date(prev.created), tier: prev.tier, type: prev.type, setId: prev.id, summary: prev.stats });
    }
    const entriesFile = path.join(work, 'entries.jsonl');
    const listFile = path.join(work, 'archive.list');
    const statCache = path.join(paths.cache, `${source.name}.statcache`);
    const progress = out.progress(`scanning ${source.name}`);
    const scan: ScanResult = await scanSource({
      root: source.path,
      excludes: source.exclude,
      mode: type === 'FULL' ? 'full' : 'incremental',
      setId,
      previousManifest,
      statCache,
      outManifest: entriesFile,
      outArchiveList: listFile,
      isListFileSafe,
      now: () => req.clock.now(),
      signal: req.signal,
      onProgress: (p) => progress.update(p.files, `${p.files} files ${formatBytes(p.bytes)}`),
    });
    progress.done();
    Object.assign(result, { added: scan.added, modified: scan.modified, deleted: scan.deleted, files: scan.totalFiles, bytes: scan.totalBytes });
    result.errors.push(...scan.errors);
    const nothingChanged = type === 'INCR' && scan.filesToArchive === 0 && scan.deleted === 0 && scan.metadataOnly === 0 && scan.added === 0 && scan.modified === 0;
    if (nothingChanged && scan.errors.length === 0) {
      await commitStatCache(scan.newStatCache, statCache);
      result.setId = null;
      result.skipped = `nothing changed since ${prev?.id ?? '?'}`;
      return result;
    }
    await repo.markPending(setId, now);
    // 1. The archive.
    let volumes: string[] = [];
    if (scan.filesToArchive > 0) {
      const bar = out.progress(`archiving ${source.name}`, 100);
      const created = await tools.sevenZip.create({
        cwd: source.path,
        archivePath: path.join(setDir, `${setId}.7z`),
        listFile,
        extraPaths: scan.extraPaths,
        password,
        level: archive.level,
        volumeSize: archive.volumeSize,
        fileCount: scan.filesToArchive,
        signal: req.signal,
        onProgress: (p) => bar.update(p.percent, p.file),
      });
      bar.done();
      volumes = created.volumes;
      result.warnings.push(...created.warnings);
    }
    // 2. Files that changed while 7-Zip read them are not trusted: the manifest reverts them.
    const changed = await finalizeAfterArchive({ manifest: entriesFile, newStatCache: scan.newStatCache, previousManifest, root: source.path, signal: req.signal });
    result.errors.push(...changed.errors);
    Object.assign(result, { archivedFiles: scan.filesToArchive - changed.reverted.length, archivedBytes: scan.bytesToArchive });
    // 3. The manifest: header + entries, encrypted as its own small archive.
    const header: ManifestHeader = { strata: 'manifest', version: 1, set: setId, source: source.name, type, tier, created: now.toISOString(), base: type === 'INCR' ? (prev?.id ?? null) : null };
    const manifestPlain = path.join(work, manifestFileName(setId));
    await writeManifest(manifestPlain, header, entriesFile);
    const depends = new Set<string>();
    for await (const e of readEntries(manifestPlain)) if (e.set !== undefined && (e.type === 'file' || e.type === 'symlink')) depends.add(e.set);
    if (volumes.length > 0) depends.add(setId);
    const manifestListFile = path.join(work, 'manifest.list');
    await fsp.writeFile(manifestListFile, manifestFileName(setId) + '\n');
    await tools.sevenZip.create({ cwd: work, archivePath: path.join(setDir, manifestArchiveName(setId)), listFile: manifestListFile, extraPaths: [], password, level: 9, fileCount: 1, signal: req.signal });
    // 4. PAR2 recovery files for the volumes.
    const volumeObjects: StoredObject[] = [];
    for (const v of volumes) volumeObjects.push({ name: path.basename(v), ...(await hashFile(v)) });
    let plan: ProtectionPlan | null = null;
    const recovery: StoredObject[] = [];
    if (volumeObjects.length > 0) {
      plan = planProtection({ setId, tier, volumeSizes: volumeObjects.map((v) => v.size) }, req.config.protection);
      const bar = out.progress(`protecting ${source.name} (${plan.strategy}, ${plan.redundancyPercent}%)`, plan.units.length);
      let i = 0;
      for (const unit of plan.units) {
        const files = await tools.parity.create(unit, setDir, volumeObjects.map((v) => v.name), { signal: req.signal });
        for (const f of files) recovery.push({ name: f, ...(await hashFile(path.join(setDir, f))) });
        bar.update(++i);
      }
      bar.done();
      result.protection = `${plan.strategy} ${plan.redundancyPercent}%`;
    }
    const manifestObject: StoredObject = { name: manifestArchiveName(setId), ...(await hashFile(path.join(setDir, manifestArchiveName(setId)))) };
    // 5. RESTORE.txt.
    const summary = {
      id: setId, source: source.name, tier, type, created: now.toISOString(), base: header.base, depends: [...depends].sort(),
      volumes: volumeObjects, manifest: manifestObject,
    };
    const restoreTxt = restoreText({ ...summary, par2Commands: plan === null ? [] : stockRepairCommands(plan) });
    // 6. Upload everything but the descriptor, each object checked against its hash.
    const uploads: StoredObject[] = [...volumeObjects, manifestObject, ...recovery];
    const up = out.progress(`storing ${setId}`, uploads.length);
    let n = 0;
    for (const obj of uploads) {
      if (req.signal.aborted) throw new StrataError('CANCELLED', 'backup cancelled');
      await repo.put(setId, obj.name, await fileSource(path.join(setDir, obj.name)), { sha256: obj.sha256, tags: { tier, type, set: setId }, signal: req.signal });
      up.update(++n, obj.name);
    }
    await repo.put(setId, 'RESTORE.txt', bufferSource(restoreTxt), { tags: { tier, type, set: setId } });
    up.done();
    for (const obj of uploads) {
      const info = await req.backend.stat(`${setId}/${obj.name}`);
      if (info.size !== obj.size || (info.sha256 !== undefined && info.sha256 !== obj.sha256)) {
        throw new StrataError('CHECKSUM', `${setId}/${obj.name} on the destination does not match what was uploaded`, { hint: 'Run the backup again; the set was not marked complete.' });
      }
    }
    // 7. The descriptor, last: now the set is complete.
    const descriptor = sealDescriptor(
      {
        format: 'strata-set', version: 1, job: req.config.job, ...summary,
        protection: plan === null ? null : protectionSummary(plan),
        recovery,
        stats: { files: scan.totalFiles, bytes: scan.totalBytes, archivedFiles: result.archivedFiles, archivedBytes: scan.bytesToArchive, added: scan.added, modified: scan.modified, deleted: scan.deleted },
        tool: { strata: req.version, '7zz': tools.sevenZip.version, par2: tools.parity.version },
        kdf: defaultKdf(randomBytes(16).toString('base64')),
      },
      password,
    );
    await repo.writeDescriptor(descriptor);
    await repo.clearPending(setId);
    result.volumes = volumeObjects.length;
    result.storedBytes = uploads.reduce((s, o) => s + o.size, 0);
    // 8. Local state moves forward only now.
    await fsp.mkdir(paths.manifests, { recursive: true });
    await fsp.copyFile(manifestPlain, path.join(paths.manifests, manifestFileName(setId)));
    await commitStatCache(scan.newStatCache, statCache);
    await job.audit.commit({ source: source.name, manifestFile: manifestPlain, date: now, tier, type, setId, summary: { added: scan.added, modified: scan.modified, deleted: scan.deleted } });
    return result;
  } finally {
    await fsp.rm(setDir, { recursive: true, force: true });
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function writeManifest(file: string, header: ManifestHeader, entriesFile: string): Promise<void> {
  const ws = createWriteStream(file);
  ws.write(serializeHeader(header) + '\n');
  const { createReadStream } = await import('node:fs');
  for await (const chunk of createReadStream(entriesFile)) {
    if (!ws.write(chunk)) await once(ws, 'drain');
  }
  ws.end();
  await once(ws, 'finish');
}

function protectionSummary(plan: ProtectionPlan): ProtectionSummary {
  const { setId: _s, tier: _t, volumeSizes: _v, ...rest } = plan;
  return rest;
}
