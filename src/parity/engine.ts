/**
 * parity/engine: the seam between strata and a PAR2 implementation. Today par2cmdline
 * (par2cmdline.ts); a faster engine (par2cmdline-turbo, a native addon) can replace it as long as
 * it keeps these contracts, because the files it writes must stay repairable with stock par2.
 *
 * Contracts every engine MUST keep:
 * - create writes the unit's PAR2 files into `<setDir>/<unit.dir>` with exactly unit.blockSize and
 *   unit.recoveryBlocks, naming volumes relative to setDir (par2's -B base path); it replaces any
 *   earlier files of the same unit, leaves no partial files when it fails, and throws on failure,
 *   so the caller never marks a set complete without its recovery files.
 * - verify never modifies anything.
 * - repair leaves only the repaired volumes behind (no `NAME.1` copies of damaged originals).
 */
import type { ProtectionUnit } from '../core/protection/index.js';
import type { ProgressSink } from './par2-progress.js';

/** UnitRef is what verify and repair need of a unit: where its PAR2 files are and what it covers. */
export type UnitRef = Pick<ProtectionUnit, 'name' | 'dir' | 'volumes'>;

/** CreateOptions controls one create. */
export interface CreateOptions {
  signal?: AbortSignal;
  /** Called with the fraction done (0…1). */
  onProgress?: (fraction: number) => void;
  /**
   * First recovery block exponent (default 0). Recovery files made with the same block size over
   * the same volumes and a first block past every existing one add to a unit's recovery data: par2
   * repair of `<name>.par2` also loads `<name>.*.par2` (promotion, pipeline/promote).
   */
  firstBlock?: number;
  /**
   * The engine that made the set's PAR2 files (its `version`, recorded in the descriptor), when
   * they are being made again: an engine that can reproduce that engine's bytes exactly does, so
   * the rebuilt files hash as recorded (pipeline/verify).
   */
  madeBy?: string;
  /**
   * Keep the engine's buffers small (one thread, small windows, recovery data in several passes):
   * slower, for a unit made while the process already holds much (the manifest of a set of a
   * million files, made at the end of the run). An engine without such buffers ignores it.
   */
  lowMemory?: boolean;
}

/** CheckOptions controls one verify or repair. */
export interface CheckOptions {
  signal?: AbortSignal;
  /** Receives the bytes of the unit's volumes as they are checked (and, in a repair, rebuilt and checked again). */
  progress?: ProgressSink;
}

/** VerifyResult is what an engine found for one unit. */
export interface VerifyResult {
  status: 'ok' | 'repairable' | 'unrepairable';
  /** Volume file names that exist but have bad blocks. */
  damaged: string[];
  /** Volume file names that are gone. */
  missing: string[];
  /** When unrepairable: how many more recovery blocks the unit would need. */
  blocksNeeded?: number;
  /** Unusable blocks per damaged file (total − found), when the engine reports them. */
  badBlocks?: Record<string, number>;
}

/** RepairResult is what an engine did for one unit. */
export interface RepairResult {
  status: 'repaired' | 'ok' | 'unrepairable';
  /** Volume file names rewritten by the repair. */
  repaired: string[];
  blocksNeeded?: number;
}

/** ParityEngine creates, verifies and repairs the PAR2 files of one protection unit. */
export interface ParityEngine {
  /** Name and version of the tool, e.g. "par2cmdline 0.8.1" (recorded in each set's descriptor). */
  readonly version: string;
  /** create protects `unit.volumes`; volumeNames[i] is the file name of the set's volume i in setDir.
   * Returns the files written, relative to setDir ('/'-separated), index file first. */
  create(unit: ProtectionUnit, setDir: string, volumeNames: readonly string[], opts?: CreateOptions): Promise<string[]>;
  /** verify checks the unit's volumes against its PAR2 files. */
  verify(unit: UnitRef, setDir: string, opts?: CheckOptions): Promise<VerifyResult>;
  /** repair rebuilds the unit's damaged or missing volumes when its recovery blocks suffice. */
  repair(unit: UnitRef, setDir: string, opts?: CheckOptions): Promise<RepairResult>;
}
