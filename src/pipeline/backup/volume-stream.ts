/**
 * pipeline/backup/volume-stream: the upload stage that runs while 7-Zip writes. Each finished
 * volume is uploaded, PAR2 units are made as soon as they are certain, and volumes are deleted
 * from staging once nothing can need them; 7-Zip is paused (SIGSTOP) while too many volumes wait.
 * What may happen when is decided by core/volume-stream-rules (table-tested without 7-Zip); this
 * file only executes those decisions: uploads, par2, deletions, signals.
 */
import type { ChildProcess } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import pLimit from 'p-limit';
import type { StoredObject } from '../../core/descriptor.js';
import { volumeFileName, volumeIndex } from '../../core/keys.js';
import type { ProtectionUnit, StreamingLayout } from '../../core/protection/index.js';
import { VolumeStreamRules } from '../../core/volume-stream-rules.js';
import { StrataError, errorMessage, isStrataError, type ErrorCode } from '../../errors.js';
import { hashFile } from '../../io/hash.js';
import type { JournalObject, JournalUnit } from './journal.js';
import type { SetInProgress } from './set.js';

/** DRAINABLE are the destination failures after which 7-Zip may finish the archive locally. */
const DRAINABLE: readonly ErrorCode[] = ['BACKEND', 'AUTH', 'DISK_FULL'];

/** DRAIN_MARGIN is free space left on the staging disk when 7-Zip finishes an archive locally. */
const DRAIN_MARGIN = 256 << 20;

/** StepQueue runs steps one at a time (p-limit); the first failure goes to onError and later steps are skipped. */
class StepQueue {
  private readonly limit = pLimit(1);
  private last: Promise<void> = Promise.resolve();
  constructor(private readonly failed: () => boolean, private readonly onError: (e: unknown) => Promise<void>) {}
  push(step: () => Promise<void>): void {
    // One at a time, in order: the last step queued is the last to finish.
    this.last = this.limit(async () => {
      if (this.failed()) return;
      try {
        await step();
      } catch (e) {
        await this.onError(e);
      }
    });
  }
  idle(): Promise<void> {
    return this.last;
  }
}

/** VolumeStream uploads, protects and releases the volumes of one archive while 7-Zip writes it (see the module comment and core/volume-stream-rules). */
export class VolumeStream {
  failure: Error | undefined;
  /** draining: a destination failure stopped uploads, and 7-Zip finishes the archive locally. */
  draining = false;
  private readonly controller = new AbortController();
  private readonly rules: VolumeStreamRules;
  /** The stored volumes (for the journal). */
  private readonly objects = new Map<number, StoredObject>();
  private child: ChildProcess | undefined;
  private paused = false;
  private ended = false;
  private exited = false;
  private readonly uploads: StepQueue;
  private readonly par2: StepQueue;
  /** Every unit whose PAR2 files were made, with which of them are stored (see snapshot). */
  private readonly unitFiles = new Map<string, JournalUnit>();
  /** Errors thrown by the destination (put), as opposed to local failures. */
  private readonly uploadErrors = new WeakSet<object>();

  constructor(private readonly set: SetInProgress, estimatedBytes: number, volumeSize: number) {
    const req = set.req;
    this.rules = new VolumeStreamRules({ setId: set.setId, tier: set.tier, volumeSize, maxVolumes: req.config.staging.maxVolumes, estimatedBytes, protection: req.config.protection });
    const fail = (e: unknown): Promise<void> => this.failStep(e);
    const failed = (): boolean => this.failure !== undefined;
    this.uploads = new StepQueue(failed, fail);
    this.par2 = new StepQueue(failed, fail);
    if (req.signal.aborted) this.controller.abort();
    else req.signal.addEventListener('abort', () => this.fail(new StrataError('CANCELLED', 'backup cancelled')), { once: true });
  }

  /** signal stops 7-Zip when the user cancels or a step of the pipeline fails. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  attach(child: ChildProcess): void {
    this.child = child;
    child.once('exit', () => {
      this.exited = true;
      this.rules.sevenZipExited();
    });
  }

  /** detach resumes a stopped 7-Zip (it must see its SIGTERM, or simply finish) and forgets it. */
  detach(): void {
    this.resume();
    this.child = undefined;
  }

  progress(percent: number): void {
    this.rules.progress(percent);
  }

  private fail(e: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = e instanceof Error ? e : new Error(String(e));
    this.resume();
    this.controller.abort();
  }

  /**
   * failStep handles the failure of a queued step. A destination failure while 7-Zip still writes
   * does not stop 7-Zip when the rest of the archive fits on the staging disk: the archive is then
   * completed locally and journaled, and the next run uploads only what is missing (an encrypted
   * archive cannot be made again byte for byte). Uploads and PAR2 stop; nothing more is released.
   * Any other failure (PAR2, a local error, a contract breach) stops 7-Zip.
   */
  private async failStep(e: unknown): Promise<void> {
    if (this.failure !== undefined) return;
    if (isStrataError(e) && this.uploadErrors.has(e) && DRAINABLE.includes(e.code) && (this.exited || (await this.roomToFinish()))) {
      if (this.failure !== undefined) return;
      this.failure = e;
      this.draining = true;
      this.set.out.info(`${this.set.setId}: storing failed (${e.message}); 7-Zip finishes the archive locally so that the next run can resume the upload`);
      this.resume();
      return;
    }
    this.fail(e);
  }

  /** roomToFinish tells whether the rest of the archive (estimated) fits in the staging disk's free space. */
  private async roomToFinish(): Promise<boolean> {
    try {
      const st = await fsp.statfs(this.set.setDir);
      return st.bavail * st.bsize >= this.rules.bytesToFinish(DRAIN_MARGIN);
    } catch {
      return false;
    }
  }

  /** put stores one object, remembering its failure as a destination failure (see failStep). */
  private async put(name: string, sha256: string): Promise<void> {
    try {
      await this.set.store(name, sha256, this.signal);
    } catch (e) {
      if (typeof e === 'object' && e !== null) this.uploadErrors.add(e);
      throw e;
    }
  }

  private name(i: number): string {
    return volumeFileName(this.set.setId, i);
  }

  /** volumeFinal is 7-Zip's onVolumeFinal: it only queues work, so 7-Zip's watcher never waits. */
  volumeFinal(file: string): void {
    const i = volumeIndex(file);
    if (i === null || (this.failure !== undefined && !this.draining)) return;
    this.rules.volumeFinal(i);
    this.set.emit({ kind: 'volume-final', index: i });
    // Draining: the volume stays here for the journal and the next run.
    if (this.draining) return;
    this.uploads.push(() => this.upload(i));
    const due = this.rules.due();
    if (due.layoutFixed !== null) this.set.emit({ kind: 'layout-fixed', ...due.layoutFixed });
    for (const { j, unit } of due.units) {
      this.par2.push(async () => {
        await this.protect(unit, true);
        this.rules.unitMade(j);
        await this.release();
      });
    }
    this.updatePause();
  }

  private async upload(i: number): Promise<void> {
    const name = this.name(i);
    const obj: StoredObject = { name, ...(await hashFile(this.set.file(name))) };
    await this.put(name, obj.sha256);
    this.objects.set(i, obj);
    this.rules.volumeUploaded(i);
    this.set.emit({ kind: 'volume-uploaded', index: i });
    await this.release();
  }

  /** protect makes one unit's PAR2 files, uploads them and removes the local copies. */
  private async protect(unit: ProtectionUnit, early: boolean): Promise<void> {
    const names = Array.from({ length: (unit.volumes[unit.volumes.length - 1] ?? 0) + 1 }, (_, i) => this.name(i));
    const files = await this.set.req.tools.parity.create(unit, this.set.setDir, names, { signal: this.signal });
    // Hashed and recorded before any upload, so that a unit half stored when the destination
    // fails is journaled as such and the next run stores only its missing files.
    const progress: JournalUnit = { unit, files: [] };
    for (const f of files) progress.files.push({ name: f, ...(await hashFile(this.set.file(f))), uploaded: false });
    this.unitFiles.set(unit.name, progress);
    for (const obj of progress.files) {
      await this.put(obj.name, obj.sha256);
      obj.uploaded = true;
      await fsp.rm(this.set.file(obj.name), { force: true });
    }
    this.set.emit({ kind: 'unit-created', name: unit.name, volumes: unit.volumes, early });
    this.set.out.verbose(`${unit.name}: PAR2 made and stored (${early ? 'while archiving' : 'at the end'})`);
  }

  /** release deletes from staging the volumes the rules let go. */
  private async release(): Promise<void> {
    for (const i of this.rules.release()) {
      await fsp.rm(this.set.file(this.name(i)), { force: true });
      this.set.emit({ kind: 'volume-released', index: i });
    }
    this.updatePause();
  }

  /** updatePause stops 7-Zip or lets it go on, as the rules say. */
  private updatePause(): void {
    const canPause = !this.ended && this.child !== undefined && this.failure === undefined;
    const action = this.rules.pauseAction(this.paused, canPause);
    if (action === 'pause' && this.child?.kill('SIGSTOP') === true) {
      this.paused = true;
      this.set.emit({ kind: 'paused', pending: this.rules.pending() });
    } else if (action === 'resume') {
      this.resume();
    }
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child?.kill('SIGCONT');
    this.set.emit({ kind: 'resumed', pending: this.rules.pending() });
  }

  /** settle waits until every queued upload and PAR2 step has run (failures stay in `failure`). */
  async settle(): Promise<void> {
    this.ended = true;
    await this.uploads.idle();
    await this.par2.idle();
  }

  /**
   * snapshot describes the finished archive for the resume journal, after settle(): every volume
   * (hashed now if it was not uploaded), the layout and the units made while archiving.
   * `remaining` is what 7-Zip left in the folder (released volumes are gone from it).
   */
  async snapshot(remaining: readonly string[]): Promise<{ volumes: JournalObject[]; layout: StreamingLayout | null; units: JournalUnit[] }> {
    // The last volume is the highest-numbered file 7-Zip left (it is reported, never released, by now).
    const count = this.rules.volumeCount(remaining.map((f) => (volumeIndex(f) ?? -1) + 1));
    this.set.emit({ kind: 'archive-done', volumes: count });
    const volumes: JournalObject[] = [];
    for (let i = 0; i < count; i++) {
      const stored = this.objects.get(i);
      if (stored !== undefined) {
        volumes.push({ ...stored, uploaded: true });
        continue;
      }
      let h;
      try {
        h = await hashFile(this.set.file(this.name(i)));
      } catch (e) {
        throw new StrataError('INTERNAL', `volume ${this.name(i)} was never reported by 7-Zip (${errorMessage(e)})`);
      }
      volumes.push({ name: this.name(i), ...h, uploaded: false });
    }
    const units = [...this.unitFiles.values()].map(({ unit, files }) => ({ unit, files: files.map((f) => ({ ...f })) }));
    return { volumes, layout: this.rules.layout, units };
  }
}
