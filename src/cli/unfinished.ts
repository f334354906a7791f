/**
 * cli/unfinished: a command that never finishes while nothing is left to wait for (an awaited
 * promise that can no longer settle: a bug) would let Node exit with code 0 — a success that was
 * never achieved, e.g. a restore that stopped halfway. Node emits `beforeExit` when its event loop
 * is empty; until the command has returned, that is reported as an internal error (exit 1).
 */
import { ExitCode } from '../errors.js';

/** untilFinished runs `command` and gives its exit code; if the process would end before it returns, exit 1 with an error. */
export async function untilFinished(command: () => Promise<number>): Promise<number> {
  let finished = false;
  const unfinished = (): void => {
    if (finished) return;
    finished = true;
    process.stderr.write('strata: internal error: the command stopped before it finished (an operation it waited for never completed); what it reported above is not complete\nhint: Run it again, and please report this with the output above.\n');
    process.exitCode = ExitCode.error;
  };
  process.once('beforeExit', unfinished);
  try {
    return await command();
  } finally {
    finished = true;
    process.removeListener('beforeExit', unfinished);
  }
}
