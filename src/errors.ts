/**
 * errors: the typed failures of strata and the exit codes they map to.
 * Every error a user can cause carries a stable code and a hint that says what to do;
 * src/cli/main.ts is the one place that turns them into an exit status.
 */

/** ExitCode lists every exit status strata uses (documented in the README). */
export const ExitCode = {
  ok: 0,
  error: 1,
  usage: 2,
  partial: 3,
  noRepository: 10,
  locked: 11,
  wrongPassword: 12,
  damaged: 13,
  missingTool: 14,
  /** strata status found something that needs attention (no recent set, a failed run …). */
  attention: 4,
  /** An object is in archive storage (S3 GLACIER / DEEP_ARCHIVE) and was read without a restore. */
  archived: 15,
  /** Objects are being restored from archive storage: nothing is wrong, run the same command again later (75: EX_TEMPFAIL). */
  pending: 75,
  cancelled: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** ErrorCode names the kinds of failure; each maps to one exit code. */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG'
  | 'NO_REPOSITORY'
  | 'NO_DESTINATION'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'LOCKED'
  | 'WRONG_PASSWORD'
  | 'NO_PASSWORD'
  | 'DAMAGED'
  | 'TAMPERED'
  | 'MISSING_TOOL'
  | 'TOOL_FAILED'
  | 'DISK_FULL'
  | 'AUTH'
  | 'CHECKSUM'
  | 'BACKEND'
  | 'UNSAFE_PATH'
  | 'RESTORE_CONFLICT'
  | 'CANCELLED'
  | 'INTERNAL'
  | 'ARCHIVED'
  | 'RESTORE_PENDING';

const exitCodes: Record<ErrorCode, ExitCode> = {
  USAGE: ExitCode.usage,
  CONFIG: ExitCode.usage,
  NO_REPOSITORY: ExitCode.noRepository,
  NO_DESTINATION: ExitCode.noRepository,
  NOT_FOUND: ExitCode.error,
  ALREADY_EXISTS: ExitCode.error,
  LOCKED: ExitCode.locked,
  WRONG_PASSWORD: ExitCode.wrongPassword,
  NO_PASSWORD: ExitCode.wrongPassword,
  DAMAGED: ExitCode.damaged,
  TAMPERED: ExitCode.damaged,
  MISSING_TOOL: ExitCode.missingTool,
  TOOL_FAILED: ExitCode.error,
  DISK_FULL: ExitCode.error,
  AUTH: ExitCode.error,
  CHECKSUM: ExitCode.damaged,
  BACKEND: ExitCode.error,
  UNSAFE_PATH: ExitCode.damaged,
  RESTORE_CONFLICT: ExitCode.error,
  CANCELLED: ExitCode.cancelled,
  INTERNAL: ExitCode.error,
  ARCHIVED: ExitCode.archived,
  RESTORE_PENDING: ExitCode.pending,
};

/** StrataErrorOptions carries what a user needs to act on an error. */
export interface StrataErrorOptions {
  /** What to do about it, one sentence. */
  hint?: string;
  cause?: unknown;
  /** Whether retrying the same operation may succeed (transient network fault, 5xx, timeout). */
  retriable?: boolean;
}

/** StrataError is a failure with a stable code, a message and an optional hint. */
export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: StrataErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StrataError';
    this.code = code;
    this.hint = options.hint;
    this.retriable = options.retriable ?? false;
  }

  /** exitCode is the process exit status for this error. */
  get exitCode(): ExitCode {
    return exitCodes[this.code];
  }
}

/** isStrataError narrows an unknown thrown value. */
export function isStrataError(e: unknown, code?: ErrorCode): e is StrataError {
  return e instanceof StrataError && (code === undefined || e.code === code);
}

/** notFound is the error every Backend gives for a missing object. */
export function notFound(what: string): StrataError {
  return new StrataError('NOT_FOUND', `${what} does not exist`);
}

/** errnoCode returns the Node.js errno code (ENOENT, ENOSPC, ...) of an error, if any. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = e.code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** fromFsError turns a filesystem failure into a StrataError with a hint (disk full, permissions). */
export function fromFsError(e: unknown, action: string): StrataError {
  if (e instanceof StrataError) return e;
  const code = errnoCode(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StrataError('DISK_FULL', `${action}: no space left on device`, {
      hint: 'Free some space (or point --state / the destination at a larger disk) and run again; nothing was marked complete.',
      cause: e,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new StrataError('BACKEND', `${action}: permission denied (${msg})`, { hint: 'Check the permissions of that path.', cause: e });
  }
  return new StrataError('BACKEND', `${action}: ${msg}`, { cause: e });
}

/** errorMessage gives a one-line description of any thrown value. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
