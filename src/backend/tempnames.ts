/**
 * backend/tempnames: the names of upload temporaries on remote folders (WebDAV, rclone), and when
 * one is a leftover of a killed run that may be swept. A temporary is named
 * `.strata-tmp-<host>-<pid>-<random hex>`; one of this host whose process is gone, or any of
 * strata's temporary names (this format or the older `.strata-tmp-<16 hex>`) not modified for
 * STALE_TEMP_MS, is a leftover. Nothing else is ever removed: a name outside these patterns is not
 * strata's.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { errnoCode } from '../errors.js';

/** TMP_PREFIX starts the name of every upload temporary; listings never show such names. */
export const TMP_PREFIX = '.strata-tmp-';

const HOST = hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/** STALE_TEMP_MS: a temporary not modified for this long belongs to a dead run, whatever its host. */
export const STALE_TEMP_MS = 24 * 3600 * 1000;

/** tempName names a new upload temporary of this process. */
export function tempName(): string {
  return `${TMP_PREFIX}${HOST}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

const CURRENT = /^\.strata-tmp-(.+)-(\d+)-[0-9a-f]{12}$/;
const OLDER = /^\.strata-tmp-[0-9a-f]{16}$/;

function pidGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return errnoCode(e) === 'ESRCH';
  }
}

/**
 * isLeftoverTemp tells whether a temporary (its base name, and its modification time when the
 * remote reports one) was left by a run that is gone: this host's and its pid is dead, or it is
 * older than STALE_TEMP_MS.
 */
export function isLeftoverTemp(name: string, modified: Date | undefined, now = new Date()): boolean {
  const m = CURRENT.exec(name);
  if (m === null && !OLDER.test(name)) return false;
  if (m !== null && m[1] === HOST && pidGone(Number(m[2]))) return true;
  return modified !== undefined && !Number.isNaN(modified.getTime()) && now.getTime() - modified.getTime() > STALE_TEMP_MS;
}
