/**
 * ops/details: what a command's results put in its run record (core/runlog RunDetails) — the
 * sets made, verified or restored from, the counts and bytes — one function per command.
 */
import type { RunDetails } from '../core/runlog.js';
import type { BackupResult } from '../pipeline/backup/index.js';
import type { RestoredSource } from '../pipeline/restore/index.js';

const sum = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((n, x) => n + f(x), 0);

/** backupDetails: the sets a backup made, its counts and bytes. */
export function backupDetails(result: BackupResult): RunDetails {
  const s = result.sources;
  return {
    sets: { made: s.flatMap((r) => (r.setId === null ? [] : [r.setId])) },
    counts: { files: sum(s, (r) => r.files), added: sum(s, (r) => r.added), modified: sum(s, (r) => r.modified), deleted: sum(s, (r) => r.deleted), errors: sum(s, (r) => r.errors.length) },
    bytes: { source: sum(s, (r) => r.bytes), stored: sum(s, (r) => r.storedBytes) },
  };
}

/** verifyDetails: the sets a verify found intact (verified), and how many it checked and found damaged. */
export function verifyDetails(verdicts: readonly { id: string; status: string }[], unreadable: number): RunDetails {
  const good = verdicts.filter((v) => v.status === 'ok' || v.status === 'repaired');
  return { sets: { verified: good.map((v) => v.id) }, counts: { checked: verdicts.length, damaged: verdicts.length - good.length + unreadable, repaired: verdicts.filter((v) => v.status === 'repaired').length } };
}

/** restoreDetails: what a restore brought back. */
export function restoreDetails(results: readonly RestoredSource[]): RunDetails {
  return { counts: { files: sum(results, (r) => r.files), lost: sum(results, (r) => r.lost.length) }, bytes: { restored: sum(results, (r) => r.bytes) } };
}
