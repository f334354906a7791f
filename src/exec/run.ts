/**
 * exec: running the external tools (7zz, par2, git, rclone) as child processes.
 * Secrets go in on stdin, never in argv; stderr is captured for error messages; an AbortSignal
 * stops the child; output can be streamed to a callback for progress parsing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { StrataError } from '../errors.js';

/** RunOptions controls one child process. */
export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then stdin is closed. Secrets go here, never in argv. */
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Called with every chunk of stdout as it arrives (progress parsing). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Called once the child is spawned (tests inspect /proc/<pid>/cmdline). */
  onSpawn?: (child: ChildProcess) => void;
  /** Keep at most this many bytes of stdout/stderr in the result (default 1 MiB each). */
  maxCapture?: number;
  /**
   * Run the child in its own process group and stop the whole group on abort (a shell command:
   * killing only `sh` would leave its children holding stdout open, and the run would not end).
   */
  killGroup?: boolean;
}

/** RunResult is what a finished child left behind. */
export interface RunResult {
  exitCode: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** SECRET_ENV names the variables that carry secrets; no child process gets them. */
const SECRET_ENV = new Set<string>(['STRATA_PASSWORD', 'STRATA_PASSWORD_FILE', 'STRATA_WEBDAV_PASSWORD']);

/** hideFromChildren adds a variable that carries a secret (e.g. the config's `password: { env }`). */
export function hideFromChildren(name: string): void {
  SECRET_ENV.add(name);
}

/** childEnv is env without the password variables: 7zz gets the password on stdin, par2 and git never need it. */
export function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !SECRET_ENV.has(name)));
}

/**
 * run starts a program and resolves when it exits, whatever its exit code (callers map codes to
 * meaning). It rejects only when the program cannot be started (MISSING_TOOL) or was aborted.
 */
export function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const max = options.maxCapture ?? 1 << 20;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted === true) {
      reject(new StrataError('CANCELLED', `${program} was cancelled before it started`));
      return;
    }
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: childEnv(options.env ?? process.env),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: options.killGroup === true,
    });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const kill = (sig: NodeJS.Signals): void => {
      if (options.killGroup === true && child.pid !== undefined) {
        try {
          process.kill(-child.pid, sig);
          return;
        } catch {
          // the group is gone already: fall back to the child itself
        }
      }
      child.kill(sig);
    };
    const onAbort = (): void => {
      kill('SIGTERM');
      setTimeout(() => kill('SIGKILL'), 5000).unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < max) stdout += chunk.slice(0, max - stdout.length);
      options.onStdout?.(chunk);
    });
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < max) stderr += chunk.slice(0, max - stderr.length);
      options.onStderr?.(chunk);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      if (err.code === 'ENOENT') {
        reject(new StrataError('MISSING_TOOL', `${program} is not installed (not found on PATH)`, { cause: err }));
      } else {
        reject(new StrataError('TOOL_FAILED', `could not start ${program}: ${err.message}`, { cause: err }));
      }
    });
    child.on('spawn', () => options.onSpawn?.(child));
    child.on('close', (code, sig) => {
      if (settled) return;
      settled = true;
      options.signal?.removeEventListener('abort', onAbort);
      // A child that failed by itself (an error exit of its own, not the signal or the interrupt
      // exit our cancellation causes) reports its failure even if cancellation came meanwhile:
      // that failure (7-Zip on a full disk, say) is usually why the caller cancelled.
      const failedByItself = sig === null && code !== null && code !== 0 && code !== 255 && code !== 130 && code !== 143;
      if (options.signal?.aborted === true && !failedByItself) {
        reject(new StrataError('CANCELLED', `${program} was cancelled`));
        return;
      }
      resolve({ exitCode: code ?? 128, signal: sig, stdout, stderr });
    });
    // A child that exits before reading its stdin gives EPIPE: that is reported through its exit code.
    child.stdin.on('error', () => undefined);
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** lastLines returns the last n non-empty lines of a tool's output, for error messages. */
export function lastLines(text: string, n = 5): string {
  return text
    .split(/[\r\n\b]+/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}
