/**
 * pipeline/backup: one backup run of a job — for each source: scan → encrypted 7-Zip volumes,
 * each uploaded and PAR2-protected while 7-Zip writes the next ones (VolumeStream below) →
 * manifest (with its own PAR2 set) → descriptor (last) → local state and git audit trail.
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
import type { ChildProcess } from 'node:child_process';
import type { SevenZip } from '../archive/sevenzip.js';
import { isListFileSafe } from '../core/sevenzip.js';
import { AuditTrail } from '../audit/audit.js';
import type { Backend } from '../backend/backend.js';
import { fileSource, bufferSource } from '../backend/local.js';
import { latestFor } from '../core/catalog.js';
import { canonicalJson, checkDescriptor, defaultKdf, sealDescriptor, type Descriptor, type StoredObject } from '../core/descriptor.js';
import { serializeHeader, type ManifestHeader } from '../core/manifest.js';
import { makeSetId, resolveTier, type SetType, type Tier } from '../core/naming.js';
import {
  manifestUnit,
  planProtection,
  planStreaming,
  streamingLayout,
  streamingUnit,
  volumeFileName,
  type ProtectionConfig,
  type ProtectionPlan,
  type ProtectionUnit,
  type StreamingLayout,
} from '../core/protection.js';
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
  /** Called at each step of the streaming pipeline (tests observe ordering and staging through it). */
  onEvent?: (e: PipelineEvent) => void;
  /** How often 7-Zip's folder is polled for finished volumes (ms; default 200). */
  pollMs?: number;
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
  // One destination, one password: refuse to mix. Checked (scrypt, ~0.1 s) once per run, when the
  // password is first needed (or the run turns out to have nothing to write).
  const newest = [...catalog.complete].sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
  let passwordChecked = newest === undefined;
  const checkPassword = (): void => {
    if (passwordChecked || newest === undefined) return;
    if (checkDescriptor(newest, req.password) === 'wrong-password') {
      throw new StrataError('WRONG_PASSWORD', `the password does not match the sets already on ${req.backend.description}`, {
        hint: 'Use the password those sets were made with (a destination holds sets of one password).',
      });
    }
    passwordChecked = true;
  };
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
    const r = await backupSource(req, { source, prev, tier, type, setId, now, repo, audit, paths, checkPassword });
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
  /** Throws WRONG_PASSWORD unless the password matches the destination's sets (checked once). */
  checkPassword: () => void;
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
  const tags = { tier, type, set: setId };
  try {
    await fsp.access(source.path).catch((e: unknown) => {
      throw new StrataError('CONFIG', `source ${source.name}: ${source.path} cannot be read (${errorMessage(e)})`, { hint: 'Check the source path in the configuration.' });
    });
    let previousManifest: string | undefined;
    if (prev !== undefined) {
      if (!(await isCached(paths.manifests, prev.id))) job.checkPassword();
      previousManifest = await ensureLocalManifest(repo, prev, tools.sevenZip, password, paths.manifests, tools.parity);
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
      // Nothing to encrypt, but a wrong password must not go unnoticed until the next change.
      job.checkPassword();
      await commitStatCache(scan.newStatCache, statCache);
      result.setId = null;
      result.skipped = `nothing changed since ${prev?.id ?? '?'}`;
      return result;
    }
    job.checkPassword();
    await repo.markPending(setId, now);
    // 1. The archive, streamed: volumes are uploaded and protected while 7-Zip writes later ones.
    let streamed: StreamResult | null = null;
    if (scan.filesToArchive > 0) {
      const stream = new VolumeStream({
        setId, tier, setDir, volumeSize: archive.volumeSize, maxVolumes: req.config.staging.maxVolumes, estimatedBytes: scan.bytesToArchive,
        protection: req.config.protection, repo, parity: tools.parity, tags, signal: req.signal, onEvent: req.onEvent, out,
      });
      const bar = out.progress(`archiving ${source.name}`, 100);
      let created;
      try {
        created = await tools.sevenZip.create({
          cwd: source.path,
          archivePath: path.join(setDir, `${setId}.7z`),
          listFile,
          extraPaths: scan.extraPaths,
          password,
          level: archive.level,
          volumeSize: archive.volumeSize,
          fileCount: scan.filesToArchive,
          signal: stream.signal,
          pollMs: req.pollMs,
          onSpawn: (child) => stream.attach(child),
          onProgress: (p) => {
            stream.progress(p.percent);
            bar.update(p.percent, p.file);
          },
          onVolumeFinal: (v) => stream.volumeFinal(v),
        });
      } catch (e) {
        // An upload or PAR2 failure stops 7-Zip through stream.signal: report that, not the interruption.
        throw stream.failure ?? e;
      } finally {
        stream.detach();
        bar.done();
      }
      result.warnings.push(...created.warnings);
      // created.volumes lists what is still in the folder; released volumes are gone from it.
      streamed = await stream.finish(created.volumes);
      result.protection = `${streamed.plan.strategy} ${streamed.plan.redundancyPercent}%`;
    }
    // 2. Files that changed while 7-Zip read them are not trusted: the manifest reverts them.
    const changed = await finalizeAfterArchive({ manifest: entriesFile, newStatCache: scan.newStatCache, previousManifest, root: source.path, signal: req.signal });
    result.errors.push(...changed.errors);
    Object.assign(result, { archivedFiles: scan.filesToArchive - changed.reverted.length, archivedBytes: scan.bytesToArchive });
    // 3. The manifest: header + entries, encrypted as its own small archive, with its own PAR2 set.
    const header: ManifestHeader = { strata: 'manifest', version: 1, set: setId, source: source.name, type, tier, created: now.toISOString(), base: type === 'INCR' ? (prev?.id ?? null) : null };
    const manifestPlain = path.join(work, manifestFileName(setId));
    await writeManifest(manifestPlain, header, entriesFile);
    const depends = new Set<string>();
    for await (const e of readEntries(manifestPlain)) if (e.set !== undefined && (e.type === 'file' || e.type === 'symlink')) depends.add(e.set);
    if (streamed !== null) depends.add(setId);
    const manifestListFile = path.join(work, 'manifest.list');
    await fsp.writeFile(manifestListFile, manifestFileName(setId) + '\n');
    const manifestName = manifestArchiveName(setId);
    await tools.sevenZip.create({ cwd: work, archivePath: path.join(setDir, manifestName), listFile: manifestListFile, extraPaths: [], password, level: 9, fileCount: 1, signal: req.signal });
    const manifestObject: StoredObject = { name: manifestName, ...(await hashFile(path.join(setDir, manifestName))) };
    const mUnit = manifestUnit(setId, manifestObject.size);
    const manifestRecovery: StoredObject[] = [];
    for (const f of await tools.parity.create(mUnit, setDir, [manifestName], { signal: req.signal })) manifestRecovery.push({ name: f, ...(await hashFile(path.join(setDir, f))) });
    for (const obj of [manifestObject, ...manifestRecovery]) {
      if (req.signal.aborted) throw new StrataError('CANCELLED', 'backup cancelled');
      await repo.put(setId, obj.name, await fileSource(path.join(setDir, obj.name)), { sha256: obj.sha256, tags, signal: req.signal });
    }
    // 4. RESTORE.txt: the manifest's PAR2 commands first (a person reads the file list first too).
    const volumeObjects = streamed?.volumes ?? [];
    const plan = streamed?.plan ?? null;
    const summary = {
      id: setId, source: source.name, tier, type, created: now.toISOString(), base: header.base, depends: [...depends].sort(),
      volumes: volumeObjects, manifest: manifestObject,
    };
    const par2Commands = stockRepairCommands({ units: [mUnit, ...(plan?.units ?? [])], volumeNames: [] });
    await repo.put(setId, 'RESTORE.txt', bufferSource(restoreText({ ...summary, par2Commands })), { tags });
    // 5. Every object is on the destination and checked before the descriptor is written.
    const recovery = [...(streamed?.recovery ?? []), ...manifestRecovery];
    const uploads: StoredObject[] = [...volumeObjects, manifestObject, ...recovery];
    for (const obj of uploads) {
      const info = await req.backend.stat(`${setId}/${obj.name}`);
      if (info.size !== obj.size || (info.sha256 !== undefined && info.sha256 !== obj.sha256)) {
        throw new StrataError('CHECKSUM', `${setId}/${obj.name} on the destination does not match what was uploaded`, { hint: 'Run the backup again; the set was not marked complete.' });
      }
    }
    // 6. The descriptor, last: now the set is complete.
    const descriptor = sealDescriptor(
      {
        format: 'strata-set', version: 1, job: req.config.job, ...summary,
        protection: plan === null ? null : protectionSummary(plan),
        manifestProtection: mUnit,
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
    // 7. Local state moves forward only now.
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

// ---------------------------------------------------------------------------------------------
// The streaming pipeline of one archive.

/** PipelineEvent is one step of the streaming pipeline (tests and diagnostics observe the order). */
export type PipelineEvent =
  | { kind: 'volume-final'; index: number; at: number }
  | { kind: 'volume-uploaded'; index: number; at: number }
  | { kind: 'volume-released'; index: number; at: number }
  | { kind: 'unit-created'; name: string; volumes: number[]; early: boolean; at: number }
  | { kind: 'layout-fixed'; strategy: string; estimatedBytes: number; at: number }
  | { kind: 'paused'; pending: number; at: number }
  | { kind: 'resumed'; pending: number; at: number }
  | { kind: 'archive-done'; volumes: number; at: number };

/** Distributive Omit, so that each event kind keeps its own fields. */
type EventBody = PipelineEvent extends infer E ? (E extends PipelineEvent ? Omit<E, 'at'> : never) : never;

interface StreamOptions {
  setId: string;
  tier: Tier;
  setDir: string;
  volumeSize: number;
  maxVolumes: number;
  /** The scan's bytes to archive: the size estimate until 7-Zip's progress gives a better one. */
  estimatedBytes: number;
  protection: ProtectionConfig;
  repo: Repository;
  parity: ParityEngine;
  tags: Record<string, string>;
  signal: AbortSignal;
  onEvent: ((e: PipelineEvent) => void) | undefined;
  out: Output;
}

/** StreamResult is what the streamed archive left on the destination. */
interface StreamResult {
  volumes: StoredObject[];
  plan: ProtectionPlan;
  /** Recovery files of the volumes' units, in plan order. */
  recovery: StoredObject[];
}

interface VolumeState {
  final: boolean;
  uploaded: boolean;
  released: boolean;
  object?: StoredObject;
}

/** Serial runs tasks one at a time; the first failure is handed to onError and later tasks are skipped. */
class Serial {
  private chain: Promise<void> = Promise.resolve();
  constructor(private readonly failed: () => boolean, private readonly onError: (e: unknown) => void) {}
  push(task: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.failed()) return;
      try {
        await task();
      } catch (e) {
        this.onError(e);
      }
    });
  }
  idle(): Promise<void> {
    return this.chain;
  }
}

/**
 * VolumeStream uploads, protects and releases the volumes of one archive while 7-Zip writes it.
 *
 * Planning (see core/protection "Streaming"): the layout is fixed from an estimate of the set size
 * (7-Zip's output so far divided by its progress; the scan's byte count before any progress) the
 * first time a unit other than the first is complete. Unit 0 holds volume 001, which 7-Zip
 * rewrites last, so it is made at the end; units j ≥ 1 are made as soon as their last volume is
 * final; the unit ending at the last volume at the end. If no unit was made early (small sets,
 * or a direct estimate), the plan is planProtection over the real sizes, exactly as before.
 *
 * Staging bound: a volume is released (deleted locally) once uploaded and once every unit that
 * covers it, or may still cover it, has its PAR2 files made and uploaded. Volumes of unit 0 and
 * the last `size − 1` final volumes (which the tail unit may still need) are held; so is every
 * volume before the layout is fixed (a direct set keeps all its volumes: ≤ directMaxBytes). Other
 * volumes not yet released count as pending, and 7-Zip is stopped (SIGSTOP) while `maxVolumes`
 * are pending, resumed (SIGCONT) below that. Local volumes therefore never exceed
 * maxVolumes + 2·(size − 1) + 2 (volume 001 and the one 7-Zip is writing) once the layout is fixed.
 */
class VolumeStream {
  failure: Error | undefined;
  private readonly controller = new AbortController();
  private readonly vols = new Map<number, VolumeState>();
  /** Highest index e such that volumes 1…e are all final (volume 0 is final only at the end). */
  private e = 0;
  private percent = 0;
  private layout: StreamingLayout | null = null;
  private nextJ = 1;
  private readonly doneJ = new Set<number>();
  private readonly made = new Map<string, { unit: ProtectionUnit; files: StoredObject[] }>();
  private finalPlan: ProtectionPlan | null = null;
  private child: ChildProcess | undefined;
  private paused = false;
  private ended = false;
  private exited = false;
  private readonly uploads: Serial;
  private readonly par2: Serial;

  constructor(private readonly o: StreamOptions) {
    const fail = (e: unknown): void => this.fail(e);
    const failed = (): boolean => this.failure !== undefined;
    this.uploads = new Serial(failed, fail);
    this.par2 = new Serial(failed, fail);
    if (o.signal.aborted) this.controller.abort();
    else o.signal.addEventListener('abort', () => this.fail(new StrataError('CANCELLED', 'backup cancelled')), { once: true });
  }

  /** signal stops 7-Zip when the user cancels or a step of the pipeline fails. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  attach(child: ChildProcess): void {
    this.child = child;
    // After 7-Zip exits, the volumes it reports include the last one, so "volume e+1 exists" no
    // longer holds for the newest final volume: prefix rules stop until finish() plans it all.
    child.once('exit', () => {
      this.exited = true;
    });
  }

  /** detach resumes a stopped 7-Zip (it must see its SIGTERM, or simply finish) and forgets it. */
  detach(): void {
    this.resume();
    this.child = undefined;
  }

  progress(percent: number): void {
    this.percent = percent;
  }

  private emit(e: EventBody): void {
    this.o.onEvent?.({ ...e, at: performance.now() });
  }

  private fail(e: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.resume();
    this.controller.abort();
  }

  /** rethrow throws the first failure of any step (checked after every wait). */
  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private name(i: number): string {
    return volumeFileName(this.o.setId, i);
  }

  /** volumeFinal is 7-Zip's onVolumeFinal: it only queues work, so 7-Zip's watcher never waits. */
  volumeFinal(file: string): void {
    const m = /\.(\d{3,})$/.exec(file);
    if (m === null || this.failure !== undefined) return;
    const i = Number(m[1]) - 1;
    this.vols.set(i, { final: true, uploaded: false, released: false });
    this.emit({ kind: 'volume-final', index: i });
    while (this.vols.get(this.e + 1)?.final === true) this.e++;
    this.uploads.push(() => this.upload(i));
    if (!this.exited) this.commitReady();
    this.updatePause();
  }

  private async upload(i: number): Promise<void> {
    const file = path.join(this.o.setDir, this.name(i));
    const obj: StoredObject = { name: this.name(i), ...(await hashFile(file)) };
    await this.o.repo.put(this.o.setId, obj.name, await fileSource(file), { sha256: obj.sha256, tags: this.o.tags, signal: this.signal });
    const v = this.vols.get(i);
    if (v !== undefined) Object.assign(v, { uploaded: true, object: obj });
    this.emit({ kind: 'volume-uploaded', index: i });
    await this.release();
  }

  /** commitReady fixes the layout once a unit j ≥ 1 is complete, then queues every complete unit. */
  private commitReady(): void {
    const V = this.o.volumeSize;
    if (this.layout === null) {
      const written = (this.e + 1) * V;
      const estimate = Math.max((this.e + 2) * V, this.percent > 0 ? Math.round(written / (this.percent / 100)) : this.o.estimatedBytes);
      const candidate = streamingLayout(this.o.tier, estimate, V, this.o.protection);
      if (candidate === null || candidate.step + candidate.size - 1 > this.e) return;
      this.layout = candidate;
      this.emit({ kind: 'layout-fixed', strategy: candidate.strategy, estimatedBytes: estimate });
    }
    const layout = this.layout;
    while (this.nextJ * layout.step + layout.size - 1 <= this.e) {
      const j = this.nextJ++;
      const unit = streamingUnit(this.o.setId, layout, j, V, this.o.protection);
      this.par2.push(async () => {
        await this.protect(unit, true);
        this.doneJ.add(j);
        await this.release();
      });
    }
  }

  /** protect makes one unit's PAR2 files, uploads them and removes the local copies. */
  private async protect(unit: ProtectionUnit, early: boolean): Promise<void> {
    const names = Array.from({ length: (unit.volumes[unit.volumes.length - 1] ?? 0) + 1 }, (_, i) => this.name(i));
    const files = await this.o.parity.create(unit, this.o.setDir, names, { signal: this.signal });
    const objects: StoredObject[] = [];
    for (const f of files) {
      const local = path.join(this.o.setDir, f);
      const obj: StoredObject = { name: f, ...(await hashFile(local)) };
      await this.o.repo.put(this.o.setId, f, await fileSource(local), { sha256: obj.sha256, tags: this.o.tags, signal: this.signal });
      await fsp.rm(local, { force: true });
      objects.push(obj);
    }
    this.made.set(unit.name, { unit, files: objects });
    this.emit({ kind: 'unit-created', name: unit.name, volumes: unit.volumes, early });
    this.o.out.verbose(`${unit.name}: PAR2 made and stored (${early ? 'while archiving' : 'at the end'})`);
  }

  /** held says whether a volume must stay local whatever happens (see the class comment). */
  private held(i: number): boolean {
    const l = this.layout;
    if (this.finalPlan !== null) return false;
    return l === null || i < l.size || i > this.e + 1 - l.size;
  }

  private releasable(i: number, v: VolumeState): boolean {
    if (!v.final || !v.uploaded || v.released) return false;
    if (this.finalPlan !== null) return this.finalPlan.units.every((u) => !u.volumes.includes(i) || this.made.has(u.name));
    const l = this.layout;
    if (l === null || this.exited || this.held(i)) return false;
    // Every unit j ≥ 1 covering i (unit 0 does not: i ≥ size) must be made.
    for (let j = Math.max(1, Math.ceil((i - l.size + 1) / l.step)); j * l.step <= i; j++) if (!this.doneJ.has(j)) return false;
    return true;
  }

  private async release(): Promise<void> {
    for (const [i, v] of this.vols) {
      if (!this.releasable(i, v)) continue;
      v.released = true;
      await fsp.rm(path.join(this.o.setDir, this.name(i)), { force: true });
      this.emit({ kind: 'volume-released', index: i });
    }
    this.updatePause();
  }

  private pending(): number {
    let n = 0;
    for (const [i, v] of this.vols) if (v.final && !v.released && (!v.uploaded || !this.held(i))) n++;
    return n;
  }

  /** updatePause stops 7-Zip while maxVolumes volumes are pending, and lets it go on below that. */
  private updatePause(): void {
    const n = this.pending();
    if (!this.paused && !this.ended && n >= this.o.maxVolumes && this.child !== undefined && this.failure === undefined) {
      if (this.child.kill('SIGSTOP')) {
        this.paused = true;
        this.emit({ kind: 'paused', pending: n });
      }
    } else if (this.paused && n < this.o.maxVolumes) {
      this.resume();
    }
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child?.kill('SIGCONT');
    this.emit({ kind: 'resumed', pending: this.pending() });
  }

  /**
   * finish runs after 7-Zip has exited with every volume reported: it plans over the real sizes,
   * checks that every unit made early is in that plan unchanged, makes the rest and waits for
   * every upload.
   */
  async finish(remaining: readonly string[]): Promise<StreamResult> {
    this.ended = true;
    // The last volume is the highest-numbered file 7-Zip left (it is reported, never released, by now).
    const count = Math.max(0, ...[...this.vols.keys()].map((i) => i + 1), ...remaining.map((f) => Number(/\.(\d{3,})$/.exec(f)?.[1] ?? 0)));
    this.emit({ kind: 'archive-done', volumes: count });
    await this.uploads.idle();
    this.rethrow();
    const volumes: StoredObject[] = [];
    for (let i = 0; i < count; i++) {
      const obj = this.vols.get(i)?.object;
      if (obj === undefined) throw new StrataError('INTERNAL', `volume ${this.name(i)} was never reported by 7-Zip`);
      volumes.push(obj);
    }
    // Units still queued finish first: they are part of the plan.
    await this.par2.idle();
    this.rethrow();
    const input = { setId: this.o.setId, tier: this.o.tier, volumeSizes: volumes.map((v) => v.size) };
    const plan = this.layout === null ? planProtection(input, this.o.protection) : planStreaming(input, this.layout, this.o.protection);
    for (const { unit } of this.made.values()) {
      const planned = plan.units.find((u) => u.name === unit.name);
      if (planned === undefined || canonicalJson(planned) !== canonicalJson(unit)) {
        throw new StrataError('INTERNAL', `PAR2 unit ${unit.name} made while archiving is not in the final plan (made ${canonicalJson(unit)}, planned ${planned === undefined ? "none" : canonicalJson(planned)}; ${count} volumes, plan ${plan.units.map((u) => u.name).join(" ")})`, { hint: 'This is a strata bug; the set was not marked complete.' });
      }
    }
    this.finalPlan = plan;
    for (const unit of plan.units) if (!this.made.has(unit.name)) this.par2.push(() => this.protect(unit, false));
    this.par2.push(() => this.release());
    await this.par2.idle();
    this.rethrow();
    const recovery = plan.units.flatMap((u) => this.made.get(u.name)?.files ?? []);
    return { volumes, plan, recovery };
  }
}

async function isCached(dir: string, setId: string): Promise<boolean> {
  try {
    await fsp.access(path.join(dir, manifestFileName(setId)));
    return true;
  } catch {
    return false;
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
