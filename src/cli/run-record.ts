/**
 * cli/run-record: the one hook around a command's run that writes the run log and notifies. Every
 * way a run ends — success, partial, failure, cancellation — passes through here, so a failed
 * scheduled backup always leaves a record (and an alert, when `notify:` asks for one).
 */
import { NOTIFIED_COMMANDS, RUN_LOGGED_COMMANDS } from '../core/runlog.js';
import { ExitCode, errorMessage, type StrataError } from '../errors.js';
import { ping, runNotifyCommand } from '../ops/notify.js';
import { appendRun, RunRecorder, runLogMaxBytes } from '../ops/runlog.js';
import type { Output, Progress, ProgressOptions } from '../ui/output.js';
import type { Command, CommandContext } from '../commands/context.js';

/** RecordingOutput passes everything on and keeps the warnings for the run record. */
class RecordingOutput implements Output {
  constructor(
    private readonly inner: Output,
    private readonly recorder: RunRecorder,
  ) {}
  get json(): boolean {
    return this.inner.json;
  }
  get verbosity(): Output['verbosity'] {
    return this.inner.verbosity;
  }
  result(line: string): void {
    this.inner.result(line);
  }
  summary(line: string): void {
    this.inner.summary(line);
  }
  data(value: unknown): void {
    this.inner.data(value);
  }
  info(line: string): void {
    this.inner.info(line);
  }
  verbose(line: string): void {
    this.inner.verbose(line);
  }
  warn(line: string): void {
    this.recorder.warn(line);
    this.inner.warn(line);
  }
  progress(label: string, total?: number, opts?: ProgressOptions): Progress {
    return this.inner.progress(label, total, opts);
  }
}

/**
 * runRecorded runs a command; for the commands of RUN_LOGGED_COMMANDS whose configuration got
 * loaded (a config that does not load is refused before anything runs, and leaves the state
 * folder untouched), it appends the run's record to the run log in `stateDir` (unless the run was
 * refused as bad input, exit 2) and notifies.
 * `toError` turns what the command threw into the error cli/main reports (so the record holds
 * the exit code the process ends with); it is thrown on after recording.
 */
export async function runRecorded(command: Command, ctx: CommandContext, args: string[], stateDir: string, toError: (e: unknown) => StrataError): Promise<number> {
  if (!RUN_LOGGED_COMMANDS.has(command.name)) return command.run(ctx, args);
  const recorder = new RunRecorder(command.name, ctx.clock.now());
  const notifies = NOTIFIED_COMMANDS.has(command.name);
  let startPing: Promise<string | undefined> | undefined;
  recorder.onTarget = (t) => {
    // The start ping runs beside the command; its answer is awaited only at the end.
    if (notifies && t.notify?.url !== undefined) startPing = ping(t.notify, 'start');
  };
  const runCtx: CommandContext = { ...ctx, out: new RecordingOutput(ctx.out, recorder), run: recorder };
  let code: number;
  let error: StrataError | undefined;
  try {
    code = await command.run(runCtx, args);
  } catch (e) {
    error = toError(e);
    code = error.exitCode;
  }
  const target = recorder.target;
  if (target !== undefined) {
    const record = recorder.finish(ctx.clock.now(), code, error);
    // A run refused as bad input (exit 2: a source folder missing, the state folder inside a
    // source …) ran nothing and writes nothing, not even its record; it is still notified, so a
    // scheduled run whose config went bad is heard of.
    if (code !== ExitCode.usage) {
      try {
        await appendRun(stateDir, record, runLogMaxBytes(ctx.env));
      } catch (e) {
        ctx.out.warn(`could not write the run log in ${stateDir}: ${errorMessage(e)}`);
      }
    }
    const notify = target.notify;
    if (notifies && notify !== undefined) {
      const secret = target.passwordEnv === undefined ? [] : [target.passwordEnv];
      // The start ping goes out before the end ping (a monitor reads them in order).
      const started = await (startPing ?? Promise.resolve(undefined));
      const warnings = [started, ...(await Promise.all([ping(notify, record.result), runNotifyCommand(notify, record, ctx.env, secret)]))];
      for (const w of warnings) if (w !== undefined) ctx.out.warn(w);
    }
  }
  if (error !== undefined) throw error;
  return code;
}
