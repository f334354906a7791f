/**
 * Test helpers: run the real strata CLI as a child process (the bundled dist/bundle/bin.js next to
 * this compiled test), the way a user does, and collect its exit code and output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** CLI_ENTRY is the entry point bin/strata.js runs, of the build this test belongs to (scripts/bundle.mjs). */
export const CLI_ENTRY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bundle/bin.js');

/** CliResult is what one strata run left behind. */
export interface CliResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** CliOptions tune one run. */
export interface CliOptions {
  /** Added to (and overriding) process.env; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  onSpawn?: (child: ChildProcess) => void;
  /**
   * A backup's `--dest DIR` (a local folder) is created first when missing, as a person creates
   * the folder of a new destination (strata never creates a missing one); false leaves it missing.
   */
  createDest?: boolean;
}

/** ensureLocalDest creates the local folder a backup's --dest names, when it is missing. */
function ensureLocalDest(args: readonly string[], cwd: string | undefined): void {
  if (!args.includes('backup')) return;
  const i = args.indexOf('--dest');
  const dest = i >= 0 ? args[i + 1] : undefined;
  if (dest === undefined || dest === '' || /^[a-z][a-z0-9+]*:/i.test(dest) || dest.startsWith('~')) return;
  mkdirSync(path.resolve(cwd ?? process.cwd(), dest), { recursive: true });
}

/** strata runs `node bin.js ...args` and resolves with its result (never rejects on exit codes). */
export function strata(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  // The caller's environment minus strata's own variables, then the test's additions; a value of
  // undefined removes a variable.
  const own = new Set(['STRATA_PASSWORD', 'STRATA_PASSWORD_FILE', 'STRATA_CONFIG', 'STRATA_NOW']);
  const merged = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !own.has(k))), ...(opts.env ?? {}) };
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(merged).filter((kv): kv is [string, string] => kv[1] !== undefined));
  if (opts.createDest !== false) ensureLocalDest(args, opts.cwd);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout, stderr });
    });
    opts.onSpawn?.(child);
    child.stdin.end(opts.input ?? '');
  });
}
