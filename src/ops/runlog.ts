/**
 * ops/runlog: the run log in the state folder (`<state>/runs.jsonl`, one JSON line per run of a
 * command that reads or changes a destination), size-capped with one rotated generation
 * (`runs.1.jsonl`), and the RunRecorder a command attaches its results to. cli/main writes the
 * record in one place, whatever way the command ended.
 */
import { appendFile, mkdir, readFile, rename, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { redact } from '../core/destination.js';
import { MAX_WARNINGS, clip, emptySets, mergeDetails, parseRunLine, resultOf, type RunDetails, type RunRecord } from '../core/runlog.js';
import { errnoCode } from '../errors.js';
import type { NotifyConfig } from '../config/schema.js';

/** RUN_LOG and RUN_LOG_OLD are the run log's file names in the state folder. */
export const RUN_LOG = 'runs.jsonl';
export const RUN_LOG_OLD = 'runs.1.jsonl';

/** DEFAULT_RUN_LOG_MAX_BYTES: past this size the log is rotated (STRATA_RUN_LOG_MAX_BYTES overrides it, for tests). */
export const DEFAULT_RUN_LOG_MAX_BYTES = 1024 * 1024;

/** runLogMaxBytes is the size cap in force. */
export function runLogMaxBytes(env: NodeJS.ProcessEnv): number {
  const v = Number(env['STRATA_RUN_LOG_MAX_BYTES']);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_RUN_LOG_MAX_BYTES;
}

/** RunTarget is what a command works on: known once its configuration is loaded. */
export interface RunTarget {
  /** Undefined for a command run on a destination alone (check-destination --dest). */
  job: string | undefined;
  destination: string | Record<string, unknown>;
  notify?: NotifyConfig;
  /** The name of a variable the config's password block reads (kept from notify commands). */
  passwordEnv?: string;
}

/** describeTarget is the destination as the log shows it: no credentials, user-info or secret query values. */
export function describeTarget(destination: string | Record<string, unknown>): string {
  if (typeof destination === 'string') return redact(destination);
  // A block: its type and location, never its keys and passwords.
  const pick = ['type', 'url', 'bucket', 'prefix', 'endpoint', 'remote', 'path'].flatMap((k) => (typeof destination[k] === 'string' ? [`${k}=${redact(destination[k])}`] : []));
  return `{${pick.join(', ')}}`;
}

/**
 * RunRecorder collects what one run did. Commands call attach() with set ids and counts; the
 * configuration loader calls target(); cli/main finishes it and appends the record.
 */
export class RunRecorder {
  readonly command: string;
  readonly start: Date;
  target: RunTarget | undefined;
  private readonly details: Pick<RunRecord, 'sets' | 'counts' | 'bytes' | 'replication'> = { sets: emptySets(), counts: {}, bytes: {} };
  private readonly warnings: string[] = [];
  private warningCount = 0;
  /** Called once when the target becomes known (cli/main sends the start ping). */
  onTarget: ((t: RunTarget) => void) | undefined;

  constructor(command: string, start: Date) {
    this.command = command;
    this.start = start;
  }

  /** setTarget records the job and destination the run works on (the first call wins). */
  setTarget(t: RunTarget): void {
    if (this.target !== undefined) return;
    this.target = t;
    this.onTarget?.(t);
  }

  /** attach adds a command's results: set ids made, pruned, promoted or verified, counts, bytes. */
  attach(d: RunDetails): void {
    mergeDetails(this.details, d);
  }

  /** warn keeps a warning the run printed (at most MAX_WARNINGS of them; the rest are counted). */
  warn(line: string): void {
    this.warningCount++;
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(clip(line));
  }

  /** finish makes the record of the run. */
  finish(end: Date, exitCode: number, error: { code: string; message: string; hint: string | undefined } | undefined): RunRecord {
    const warnings = [...this.warnings];
    if (this.warningCount > warnings.length) warnings.push(`… and ${this.warningCount - warnings.length} more warnings`);
    return {
      v: 1,
      start: this.start.toISOString(),
      end: end.toISOString(),
      command: this.command,
      job: this.target?.job ?? null,
      destination: this.target === undefined ? null : describeTarget(this.target.destination),
      exitCode,
      result: resultOf(exitCode),
      sets: this.details.sets,
      counts: this.details.counts,
      bytes: this.details.bytes,
      warnings,
      error: error === undefined ? null : { code: error.code, message: clip(error.message), hint: error.hint === undefined ? null : clip(error.hint) },
      ...(this.details.replication === undefined ? {} : { replication: this.details.replication }),
    };
  }
}

/** appendRun appends a record to the run log, rotating it first when it would grow past the cap. */
export async function appendRun(stateDir: string, record: RunRecord, maxBytes: number): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, RUN_LOG);
  const line = JSON.stringify(record) + '\n';
  let size = 0;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  if (size > 0 && size + Buffer.byteLength(line) > maxBytes) await rename(file, path.join(stateDir, RUN_LOG_OLD));
  await appendFile(file, line, { mode: 0o600 });
}

/** readRuns returns the records of the run log (the rotated generation first), oldest first; lines that are not records are skipped. */
export async function readRuns(stateDir: string): Promise<RunRecord[]> {
  const out: RunRecord[] = [];
  for (const name of [RUN_LOG_OLD, RUN_LOG]) {
    let text: string;
    try {
      text = await readFile(path.join(stateDir, name), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') continue;
      throw e;
    }
    for (const line of text.split('\n')) {
      const r = parseRunLine(line);
      if (r !== undefined) out.push(r);
    }
  }
  return out;
}
