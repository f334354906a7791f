/** pipeline/backup/types: what a backup run is given and what it reports (the public API's types). */
import type { SevenZip } from '../../archive/sevenzip.js';
import type { Backend } from '../../backend/backend.js';
import type { Clock } from '../../clock.js';
import type { StrataConfig } from '../../config/schema.js';
import type { KdfParams, MachineRef, StoredObject } from '../../core/descriptor.js';
import type { SetType, Tier } from '../../core/naming.js';
import type { SetPart } from '../../core/parts.js';
import type { PhaseTiming } from '../../core/progress.js';
import type { ProtectionPlan } from '../../core/protection/index.js';
import type { ParityEngine } from '../../parity/engine.js';
import type { Output } from '../../ui/output.js';

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
  /** This machine (config/machine): recorded in every set and marker; chains follow only its sets. */
  machine: MachineRef;
  password: string;
  /** The destination marker's check of the password, in flight (commands/destination
   *  unlockForBackup): resolves to the marker's KDF parameters or rejects (WRONG_PASSWORD, DAMAGED).
   *  The run awaits it before it writes or removes anything. Without it (a caller that checked no
   *  marker) the run reads the marker and takes its KDF parameters if the password opens it. */
  markerChecked?: Promise<KdfParams>;
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
  /** How long each stage took (monotonic clock) and the bytes it handled (null: not measured). */
  phases: PhaseTiming[];
}

/** BackupResult is the outcome of a run. */
export interface BackupResult {
  sources: SourceResult[];
  removedDebris: string[];
  partial: boolean;
}

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

/** EventBody is an event without its time (a distributive Omit, so that each kind keeps its own fields). */
export type EventBody = PipelineEvent extends infer E ? (E extends PipelineEvent ? Omit<E, 'at'> : never) : never;

/** ArchiveResult is what the set's archive left on the destination: its volumes and their PAR2 units. */
export interface ArchiveResult {
  volumes: StoredObject[];
  plan: ProtectionPlan;
  /** Recovery files of the volumes' units, in plan order. */
  recovery: StoredObject[];
  /** The archives the volumes belong to (core/parts); absent: one LZMA2 archive. */
  parts?: SetPart[];
}

/** JobPaths names the parts of a job's state folder. */
export interface JobPaths {
  manifests: string;
  staging: string;
  cache: string;
  audit: string;
}
