/** pipeline/restore/types: what a restore is asked (RestoreRequest) and what it reports per source (RestoredSource). */
import type { RetrievalTier } from '../../core/cold.js';
import type { PhaseMeter } from '../../ui/meter.js';
import type { Output } from '../../ui/output.js';
import type { Repository } from '../../repository/repository.js';
import type { Tools } from '../backup/index.js';
import type { NotSet } from './metadata.js';
import type { OtherDestination } from '../fallback.js';

/** RestoreRequest selects what to restore and where. */
export interface RestoreRequest {
  repo: Repository;
  tools: Tools;
  password: string;
  /** Restore this set (its source's state at that set). */
  setId?: string;
  /** Restore the state at this moment (latest complete set at or before it). */
  at?: Date;
  /** Only this source (default: all sources on the destination). */
  source?: string;
  /**
   * Only sets of this job (--job, or the config file's). Without it, a source name that sets of
   * several jobs share on the destination is ambiguous and refused, never silently resolved.
   */
  job?: string | undefined;
  /** Only sets of this machine: host name or machine id prefix (--host). */
  host?: string | undefined;
  /**
   * This machine's id (its state folder's), if it has one: without --host its own sets are
   * restored. Sets of several machines are never mixed: without one of these, or with a host name
   * two machines share, the restore is refused and the candidates listed.
   */
  machineId?: string | undefined;
  to: string;
  paths: string[];
  overwrite: boolean;
  /** Leave owners alone (else, as root, files get their recorded owner and group). */
  noOwner?: boolean;
  /** The job's other destinations (destinations:): what is lost here beyond PAR2 is taken from one holding the same set. */
  others?: readonly OtherDestination[];
  /** Local folder for downloads and manifests. */
  workDir: string;
  out: Output;
  signal: AbortSignal;
  /** Retrieval tier of restore requests for archived volumes (--retrieval-tier); omitted: the destination's, else Standard. */
  retrievalTier?: RetrievalTier | undefined;
  /** Shows each phase with its bytes on the status line and times it (--json `phases`); else a meter of its own. */
  meter?: PhaseMeter;
}

/** RestoredSource reports one source's restore. */
export interface RestoredSource {
  source: string;
  setId: string;
  target: string;
  files: number;
  bytes: number;
  dirs: number;
  symlinks: number;
  /** Files restored as hard links to another restored file (their bytes counted once). */
  hardLinks: number;
  /** Metadata that could not be set (owner, extended attributes/ACLs), with counts and first examples. */
  notSet: NotSet[];
  /** Files that could not be restored intact (damage beyond repair), with the reason. */
  lost: { path: string; reason: string }[];
  repairedVolumes: string[];
  /** Volumes damaged or missing beyond repair (`<set>/<volume>`); the files they held are in `lost`. */
  lostVolumes: string[];
}
