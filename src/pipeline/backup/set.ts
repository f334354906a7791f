/**
 * pipeline/backup/set: the two objects the stages share — RunContext, what every set of one run
 * shares (the request, the repository, the password check), and SetInProgress, the one set being
 * written (its name, time, tier, local folders and resume journal), handed from stage to stage.
 */
import { objectTags } from '../../core/keys.js';
import * as path from 'node:path';
import type { AuditTrail } from '../../audit/audit.js';
import { fileSource, meteredSource } from '../../io/hash.js';
import type { SourceConfig } from '../../config/schema.js';
import type { Descriptor, KdfParams } from '../../core/descriptor.js';
import { makeSetId, type SetType, type Tier } from '../../core/naming.js';
import type { Repository } from '../../repository/repository.js';
import { PhaseClock, type PhaseTiming } from '../../core/progress.js';
import type { ByteSink } from '../../ui/meter.js';
import type { Output, Progress } from '../../ui/output.js';
import { setStaging, settingsFingerprint, type Journal } from './journal.js';
import type { BackupRequest, EventBody, JobPaths } from './types.js';

/** RunContext is what every set of one backup run shares. */
export interface RunContext {
  readonly req: BackupRequest;
  /** The run's time: new sets are named and dated by it. */
  readonly now: Date;
  readonly repo: Repository;
  readonly paths: JobPaths;
  readonly audit: AuditTrail;
  /** Set ids in use on the destination; a new set's id is added. */
  readonly taken: Set<string>;
  /** Unfinished sets removed by this run. */
  readonly removedDebris: string[];
  /** checkPassword throws WRONG_PASSWORD unless the password matches the destination's sets (checked once). */
  checkPassword(): Promise<void>;
  /** The scan's signal: aborted with the run's, and when the password check fails. */
  readonly scanSignal: AbortSignal;
  /** The KDF parameters (salt) the new sets' descriptors and journals use (read after checkPassword). */
  readonly kdf: KdfParams;
}

/** UnusableBase is thrown by backupSource when the base it scanned against fails its check: the run
 *  makes the set again without it (a FULL set). Nothing was written or removed for the first try. */
export class UnusableBase extends Error {
  constructor(readonly why: string) {
    super(`the base set is not usable: ${why}`);
  }
}

/** SetInProgress is one set being written, from its name to its descriptor. */
export class SetInProgress {
  /** The set's name; a new one when the set starts over (startNew). */
  setId = '';
  /** The set's time: this run's, or a resumed set's own (its id, manifest and descriptor keep it). */
  at: Date;
  /** The resume journal, once the archive is written (or when resuming). */
  journal: Journal | null = null;
  /** Resumed from an earlier run: objects may be on the destination already (damaged or halfway), so they are replaced. */
  resumed = false;
  /** The descriptor is written: the set is complete. */
  completed = false;

  constructor(
    readonly run: RunContext,
    readonly source: SourceConfig,
    /** The base: the newest usable set of this source (an INCR is made on it). */
    readonly prev: Descriptor | undefined,
    readonly tier: Tier,
    readonly type: SetType,
  ) {
    this.at = run.now;
  }

  get req(): BackupRequest {
    return this.run.req;
  }

  get out(): Output {
    return this.run.req.out;
  }

  /** base is the id of the set an INCR is made on (null for a FULL). */
  get base(): string | null {
    return this.type === 'INCR' ? (this.prev?.id ?? null) : null;
  }

  /** archive is the tier's 7-Zip settings. */
  get archive(): { level: number; volumeSize: number } {
    return this.req.config.archive[this.tier];
  }

  /** settings renders what shapes the archive and its PAR2 plan: a resume needs the very same. */
  get settings(): string {
    return settingsFingerprint({ level: this.archive.level, volumeSize: this.archive.volumeSize, protection: this.req.config.protection });
  }

  /** setDir is the local folder of the set's objects (volumes, PAR2 and manifest files). */
  get setDir(): string {
    return setStaging(this.run.paths.staging, this.setId).setDir;
  }

  /** work is the scan's work folder of the set (entries, archive list, plain manifest). */
  get work(): string {
    return setStaging(this.run.paths.staging, this.setId).work;
  }

  /** tags go with every object of the set (lifecycle rules select by them); tagsFor adds the object's kind. */
  get tags(): Record<string, string> {
    return { tier: this.tier, type: this.type, set: this.setId };
  }

  /** tagsFor are the tags of object `name` of the set: tier, type, set and kind (core/keys objectTags). */
  tagsFor(name: string): Record<string, string> {
    return objectTags({ id: this.setId, tier: this.tier, type: this.type }, name);
  }

  /** startNew gives the set a fresh name at the run's time: nothing of it exists yet. */
  startNew(): void {
    this.setId = makeSetId(this.run.now, this.type, this.source.name, this.run.taken);
    this.run.taken.add(this.setId);
    this.at = this.run.now;
    this.journal = null;
    this.resumed = false;
  }

  /** resume continues a journaled set under its own name and time. */
  resume(journal: Journal): void {
    this.setId = journal.body.setId;
    this.at = new Date(journal.body.created);
    this.journal = journal;
    this.resumed = true;
  }

  /** file is the local path of one of the set's objects. */
  file(name: string): string {
    return path.join(this.setDir, name);
  }

  /** store uploads one local object of the set; the backend checks its bytes against sha256. `sink` counts them as they go. */
  async store(name: string, sha256: string, signal: AbortSignal, sink?: ByteSink): Promise<void> {
    const body = await fileSource(this.file(name));
    await this.run.repo.put(this.setId, name, sink === undefined ? body : meteredSource(body, (n) => sink.add(n, name)), { sha256, tags: this.tagsFor(name), signal, overwrite: this.resumed });
  }

  /** emit reports a step of the streaming pipeline to the request's observer. */
  emit(e: EventBody): void {
    this.req.onEvent?.({ ...e, at: performance.now() });
  }
}

/** BackupPhase names a stage of one set, as `phases` in the --json summary. */
export type BackupPhase = 'prepare' | 'scan' | 'archive' | 'complete' | 'recheck' | 'manifest' | 'read-back' | 'finalize';

/** What each stage is called on the progress line and in --verbose. */
const PHASE_TEXT: Record<BackupPhase, string> = {
  prepare: 'preparing',
  scan: 'scan',
  archive: '7-Zip (volumes stored and protected meanwhile)',
  complete: 'completing the archive (PAR2, uploads)',
  recheck: 'checking the sources did not change while read',
  manifest: 'manifest',
  'read-back': 'checking the stored objects',
  finalize: 'descriptor, local state and audit trail',
};

/** Lap ends a phase (with the bytes it handled, when known) and names the next, unless that one draws its own progress. */
export interface Lap {
  (phase: BackupPhase, bytes?: number, next?: BackupPhase): void;
  readonly phases: PhaseTiming[];
  /** close clears a status line left open (a stage that failed). */
  close(): void;
  /** track gives the current phase's status line a total in bytes; the sink counts what is done. */
  readonly track: (total: number) => ByteSink;
}

/**
 * stopwatch times the phases of a set (monotonic time; durations only): --verbose says how long
 * each took, `phases` keeps them for the --json summary, and a phase without a progress bar of
 * its own (PAR2 and uploads, manifest, read-back) shows a status line with its elapsed time.
 */
export function stopwatch(out: Output, label: string): Lap {
  const clock = new PhaseClock(() => performance.now());
  let status: Progress | undefined;
  let current: BackupPhase | undefined;
  const lap = (phase: BackupPhase, bytes?: number, next?: BackupPhase): void => {
    status?.done();
    status = undefined;
    const p = clock.end(phase, bytes);
    out.verbose(`${label}: ${PHASE_TEXT[phase]} ${p.seconds.toFixed(2)} s`);
    current = next;
    if (next !== undefined) status = out.progress(`${label}: ${PHASE_TEXT[next]}`);
  };
  return Object.assign(lap, {
    phases: clock.phases,
    close: (): void => {
      status?.done();
      status = undefined;
    },
    track: (total: number): ByteSink => {
      status?.done();
      const bar = out.progress(`${label}: ${current === undefined ? 'working' : PHASE_TEXT[current]}`, total, { bytes: true });
      status = bar;
      let done = 0;
      return {
        add: (n: number, detail?: string): void => {
          done = Math.max(0, done + n);
          bar.update(done, detail);
        },
      };
    },
  });
}
