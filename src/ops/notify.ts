/**
 * ops/notify: tells someone how a run went — a command run with the run's summary in STRATA_RUN_*
 * variables, and healthchecks-style pings of a URL at the start and the end. Every notifier is
 * bounded by a timeout and can only produce a warning: a dead notifier never blocks or fails a run.
 */
import type { NotifyConfig } from '../config/schema.js';
import { eventOf, notifyEnv, pingUrl, type RunRecord, type RunResult } from '../core/runlog.js';
import { redact } from '../core/destination.js';
import { errorMessage } from '../errors.js';
import { lastLines, run } from '../exec/run.js';

/** ping fetches the healthchecks-style URL for a moment of the run; returns a warning, or undefined when it worked. */
export async function ping(config: NotifyConfig, moment: 'start' | RunResult): Promise<string | undefined> {
  if (config.url === undefined) return undefined;
  const url = pingUrl(config.url, moment);
  try {
    const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(config.timeoutSeconds * 1000), redirect: 'follow' });
    // The body is not needed; reading it frees the connection.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) return `notify: ${redact(url)} answered HTTP ${res.status}`;
    return undefined;
  } catch (e) {
    const timedOut = e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError');
    return `notify: could not reach ${redact(url)}${timedOut ? ` within ${config.timeoutSeconds}s` : `: ${errorMessage(e)}`}`;
  }
}

/**
 * runNotifyCommand runs notify.command for the run when its outcome is one of notify.on; returns a
 * warning, or undefined. `secretEnv` are variables the child must not see (the config's password
 * variable); STRATA_PASSWORD and STRATA_PASSWORD_FILE are never passed (exec/run childEnv).
 */
export async function runNotifyCommand(config: NotifyConfig, record: RunRecord, env: NodeJS.ProcessEnv, secretEnv: readonly string[]): Promise<string | undefined> {
  if (config.command === undefined || !config.on.includes(eventOf(record.result))) return undefined;
  const base = Object.fromEntries(Object.entries(env).filter(([k]) => !secretEnv.includes(k) && !k.startsWith('STRATA_RUN_')));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), config.timeoutSeconds * 1000);
  try {
    // Its own process group: a timeout stops the shell and whatever it started.
    const r = await run('sh', ['-c', config.command], { env: { ...base, ...notifyEnv(record) }, signal: controller.signal, killGroup: true, maxCapture: 64 * 1024 });
    if (r.exitCode !== 0) return `notify: the command failed (exit ${r.exitCode}${r.signal === null ? '' : `, ${r.signal}`})${r.stderr.trim() === '' ? '' : `: ${lastLines(r.stderr, 3)}`}`;
    return undefined;
  } catch (e) {
    return controller.signal.aborted ? `notify: the command did not finish within ${config.timeoutSeconds}s and was stopped` : `notify: the command could not run: ${errorMessage(e)}`;
  } finally {
    clearTimeout(timer);
  }
}
