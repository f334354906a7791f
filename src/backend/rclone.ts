/**
 * backend/rclone: a Backend on any remote the user's own rclone knows (Google Drive, OneDrive,
 * Dropbox, SFTP, B2, …), driving the `rclone` program: `rcat` to upload from a stream, `cat
 * --offset --count` for (range) reads, `lsjson` to stat and list, `moveto` and `deletefile`.
 *
 * Why it is built the way it is:
 * - Uploads stream into a hidden temporary name and are then `moveto`d onto the key, so a failed
 *   upload never shows under the key. The refusal to overwrite is a check before the upload;
 *   rclone has no conditional move, so two writers racing on one new
 *   key can both succeed (strata gives sets unique keys and holds a repository lock).
 * - The bytes are hashed (SHA-256 and MD5) while streaming; after the upload the temporary object's
 *   size, and its SHA-256/MD5 where the remote reports them, are compared before it is moved.
 * - Each operation starts rclone (about 0.2 s of CPU each; a put takes four runs), which is fine
 *   for backup volumes but slow for thousands of tiny objects.
 * - rclone's own retries are turned down (`--retries 1`): a streamed upload cannot be replayed by
 *   rclone, and RetryingBackend re-opens the source instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { StrataError, errnoCode, errorMessage, isStrataError } from '../errors.js';
import { childEnv, lastLines } from '../exec/run.js';
import { redact } from '../core/destination.js';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from './backend.js';
import { validateKey } from './keys.js';
import { TMP_PREFIX, isLeftoverTemp, tempName } from './tempnames.js';
import { checkSha256, hashingSource } from '../io/hash.js';

const INSTALL_HINT = 'Install rclone (sudo apt-get install rclone, or see https://rclone.org/install/) and configure the remote with "rclone config".';

/**
 * An HTTP status in the phrasings rclone's backends print — "401 Unauthorized" (WebDAV, OneDrive,
 * Dropbox), "status code: 403" (S3), "Error 403:" (Google), "HTTP error 401", "(503)" — never a
 * number that is part of a name (`set.7z.401`): a bare code must not follow a word character, '.',
 * '/' or '-', and must be followed by its reason phrase.
 */
function httpStatus(codes: string, reasons: string): RegExp {
  return new RegExp(
    `(?<![\\w./-])(?:${codes})\\s+(?:${reasons})\\b|(?:status(?:\\s*code)?|http(?:\\s*(?:error|status))?|error)\\s*[:=]?\\s*(?:${codes})(?![\\w.])|\\((?:${codes})\\)`,
    'i',
  );
}
const AUTH_STATUS = httpStatus('401|403', 'unauthori[sz]ed|forbidden|bad_auth_token|expired_auth_token|unauthenticated');
// A server error with any reason phrase ("502 Bad Gateway", B2's "503 service_unavailable").
const TRANSIENT_STATUS = httpStatus('5\\d\\d|429|408', '[a-z_]+');

/** withoutNames drops what in rclone's messages names an object rather than describes the problem:
 * quoted paths and URLs (Go's %q), and the `ERROR : <path>: ` prefix of per-object log lines. */
function withoutNames(stderr: string): string {
  return stderr.replace(/"[^"\s]*"/g, '""').replace(/\b(ERROR|NOTICE|INFO|DEBUG)\s+: [^\n]*?: /g, '$1 : ');
}

/** RcloneBackendOptions configure one rclone path. */
export interface RcloneBackendOptions {
  /** The rclone path, e.g. `myremote:backups`. */
  target: string;
  /** The program (default `rclone` on PATH). */
  binary?: string;
  /** Environment for rclone (default process.env); RCLONE_CONFIG_<NAME>_* variables define remotes. */
  env?: NodeJS.ProcessEnv;
  /** Extra global flags, e.g. ['--config', '/path/rclone.conf']. */
  args?: string[];
  /** Printed description (must be redacted); default `rclone:<target>`. */
  description?: string;
}

interface RcloneResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface LsEntry {
  Path: string;
  Name: string;
  Size: number;
  IsDir: boolean;
  Hashes?: Record<string, string>;
  ModTime?: string;
}

/** RcloneBackend stores objects under an rclone path. */
export class RcloneBackend implements Backend {
  readonly description: string;
  private readonly target: string;
  private readonly binary: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly globalArgs: string[];

  constructor(options: RcloneBackendOptions) {
    if (!options.target.includes(':')) throw new StrataError('USAGE', `rclone path ${JSON.stringify(redact(options.target))} has no remote`, { hint: 'Write it as REMOTE:PATH.' });
    this.target = options.target;
    this.binary = options.binary ?? 'rclone';
    this.env = options.env ?? process.env;
    this.globalArgs = ['--retries', '1', '--low-level-retries', '3', '--log-level', 'ERROR', ...(options.args ?? [])];
    this.description = options.description ?? redact(`rclone:${options.target}`);
  }

  private path(rel: string): string {
    if (rel === '') return this.target;
    const sep = this.target.endsWith(':') || this.target.endsWith('/') ? '' : '/';
    return `${this.target}${sep}${rel}`;
  }

  private spawn(args: string[]): ChildProcess {
    return spawn(this.binary, [...this.globalArgs, ...args], { env: childEnv(this.env), stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** rc runs one rclone command to completion, feeding `input` to its stdin. */
  private rc(args: string[], input?: Readable, signal?: AbortSignal): Promise<RcloneResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(args);
      let stdout = '';
      let stderr = '';
      let inputError: Error | undefined;
      const onAbort = (): void => {
        child.kill('SIGTERM');
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout?.setEncoding('utf8').on('data', (c: string) => {
        if (stdout.length < 1 << 22) stdout += c;
      });
      child.stderr?.setEncoding('utf8').on('data', (c: string) => {
        if (stderr.length < 1 << 20) stderr += c;
      });
      child.on('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(this.spawnError(e));
      });
      child.on('close', (code) => {
        signal?.removeEventListener('abort', onAbort);
        if (inputError !== undefined) reject(inputError);
        else if (signal?.aborted === true) reject(new StrataError('CANCELLED', `rclone ${args[0] ?? ''} was cancelled`));
        else resolve({ code: code ?? 128, stdout, stderr });
      });
      child.stdin?.on('error', () => undefined);
      if (input === undefined) {
        child.stdin?.end();
      } else if (child.stdin !== null) {
        input.on('error', (e: unknown) => {
          inputError ??= e instanceof Error ? e : new Error(String(e));
          // Kill rclone so that it does not complete an upload of a truncated stream.
          child.kill('SIGKILL');
        });
        input.pipe(child.stdin);
      }
    });
  }

  private spawnError(e: unknown): StrataError {
    if (errnoCode(e) === 'ENOENT') return new StrataError('MISSING_TOOL', `${this.binary} is not installed (not found on PATH)`, { hint: INSTALL_HINT, cause: e });
    return new StrataError('TOOL_FAILED', `could not start ${this.binary}: ${errorMessage(e)}`, { cause: e });
  }

  /** fail classifies a failed rclone run by its exit code and messages. */
  private fail(r: RcloneResult, action: string): StrataError {
    // rclone echoes connection strings in its messages (pass=…, secret_access_key=…, url="http://u:p@h").
    const text = redact(lastLines(r.stderr, 3)) || `exit code ${r.code}`;
    const msg = `${action} on ${this.description}: ${text}`;
    if (/didn't find section in config|couldn't find .*remote|config file .* not found|unknown backend|NOTICE: Config file/i.test(r.stderr) && /Failed to create file system/i.test(r.stderr)) {
      return new StrataError('CONFIG', msg, { hint: 'Check the remote name ("rclone listremotes") or configure it with "rclone config".' });
    }
    // Object names and URLs (`set.7z.401`, `"https://h/dav/set.7z.403"`) are not evidence of
    // anything: classify the messages with them taken out, and status codes only in HTTP phrasing.
    const said = withoutNames(r.stderr);
    if (AUTH_STATUS.test(said) || /unauthori[sz]ed|forbidden|access ?denied|InvalidAccessKeyId|SignatureDoesNotMatch|invalid_grant|token (has )?expired|authentication failed|permission denied|bad_auth_token/i.test(said)) {
      return new StrataError('AUTH', msg, { hint: 'Check the remote\'s credentials ("rclone config reconnect REMOTE:" for OAuth remotes).' });
    }
    if (r.code === 3 || r.code === 4 || /not found|doesn't exist|no such file/i.test(said)) return new StrataError('NOT_FOUND', `${action}: does not exist`);
    if (/insufficient storage|quota|no space left|storage.*full/i.test(said)) return new StrataError('DISK_FULL', msg, { hint: 'Free space or raise the quota on the remote.' });
    const retriable = r.code === 5 || TRANSIENT_STATUS.test(said) || /timeout|timed out|connection reset|connection refused|broken pipe|unexpected EOF|TLS handshake|temporary|rate ?limit|too many requests/i.test(said);
    return new StrataError('BACKEND', msg, { retriable });
  }

  private async lsStat(rel: string, hashes = false): Promise<LsEntry | undefined> {
    const args = ['lsjson', '--stat', '--no-mimetype'];
    if (hashes) args.push('--hash', '--hash-type', 'sha256', '--hash-type', 'md5');
    const r = await this.rc([...args, this.path(rel)]);
    if (r.code !== 0) {
      const err = this.fail(r, `reading ${rel}`);
      if (err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
    const parsed = JSON.parse(r.stdout.trim() === '' ? 'null' : r.stdout) as LsEntry | null;
    if (parsed === null || parsed.IsDir) return undefined;
    return parsed;
  }

  async put(key: string, body: BodySource, options: PutOptions = {}): Promise<ObjectInfo> {
    validateKey(key);
    const overwrite = options.overwrite === true;
    if (!overwrite && (await this.lsStat(key)) !== undefined) throw new StrataError('ALREADY_EXISTS', `${key} already exists on ${this.description}`);
    const slash = key.lastIndexOf('/');
    const tmp = `${slash < 0 ? '' : key.slice(0, slash + 1)}${tempName()}`;
    const counter = hashingSource(body, key);
    const md5 = createHash('md5');
    // A 'data' listener beside the pipe to rclone sees every chunk without changing the flow.
    counter.on('data', (c: Buffer) => md5.update(c));
    try {
      const r = await this.rc(['rcat', '--size', String(body.size), this.path(tmp)], counter, options.signal);
      if (r.code !== 0) throw this.fail(r, `uploading ${key}`);
      const sha256 = counter.sha256();
      const md5hex = md5.digest('hex');
      checkSha256(key, sha256, options.sha256);
      const st = await this.lsStat(tmp, true);
      if (st === undefined) throw new StrataError('BACKEND', `uploading ${key}: the uploaded object is not there`, { retriable: true });
      if (st.Size >= 0 && st.Size !== body.size) throw new StrataError('CHECKSUM', `${key}: the remote holds ${st.Size} bytes, sent ${body.size}`, { retriable: true });
      const rs = st.Hashes?.['sha256'];
      const rm = st.Hashes?.['md5'];
      if ((rs !== undefined && rs !== '' && rs !== sha256) || (rm !== undefined && rm !== '' && rm !== md5hex)) {
        throw new StrataError('CHECKSUM', `${key}: the remote's checksum differs from the bytes sent`, { retriable: true });
      }
      // No second existence check here: it would cost another rclone start per upload and still
      // leave a window before moveto (see the module comment).
      // --ignore-times: without it moveto takes an existing object of the same size (and time, where
      // the remote has none) for the same file, deletes the upload and keeps the old bytes — a
      // repaired volume would silently not replace the corrupted one.
      const mv = await this.rc(['moveto', '--ignore-times', this.path(tmp), this.path(key)], undefined, options.signal);
      if (mv.code !== 0) throw this.fail(mv, `moving ${key} into place`);
      return { key, size: body.size, sha256 };
    } catch (e) {
      counter.destroy();
      await this.rc(['deletefile', this.path(tmp)]).catch(() => undefined);
      if (isStrataError(e)) throw e;
      throw new StrataError('BACKEND', `uploading ${key} to ${this.description}: ${errorMessage(e)}`, { cause: e });
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    validateKey(key);
    const st = await this.lsStat(key);
    if (st === undefined) throw new StrataError('NOT_FOUND', `${key} on ${this.description} does not exist`);
    const args = ['cat'];
    if (range !== undefined) {
      const end = range.length === undefined ? st.Size : Math.min(st.Size, range.offset + range.length);
      if (range.offset >= st.Size || end <= range.offset) return Readable.from([]);
      args.push('--offset', String(range.offset), '--count', String(end - range.offset));
    }
    args.push(this.path(key));
    const child = this.spawn(args);
    const out = new PassThrough();
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < 1 << 16) stderr += c;
    });
    child.stdin?.end();
    child.on('error', (e) => out.destroy(this.spawnError(e)));
    child.stdout?.pipe(out, { end: false });
    let exited = false;
    child.on('close', (code) => {
      exited = true;
      if (code === 0) out.end();
      else out.destroy(this.fail({ code: code ?? 128, stdout: '', stderr }, `reading ${key}`));
    });
    // A reader that stops early must not leave rclone running.
    out.on('close', () => {
      if (!exited) child.kill('SIGTERM');
    });
    return out;
  }

  async stat(key: string): Promise<ObjectInfo> {
    validateKey(key);
    const st = await this.lsStat(key);
    if (st === undefined) throw new StrataError('NOT_FOUND', `${key} on ${this.description} does not exist`);
    return { key, size: st.Size };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const dir = slash < 0 ? '' : prefix.slice(0, slash);
    // Modification times are read to tell a killed upload's leftover temporary (swept below).
    const child = this.spawn(['lsjson', '-R', '--files-only', '--no-mimetype', this.path(dir)]);
    child.stdin?.end();
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => {
      if (stderr.length < 1 << 16) stderr += c;
    });
    let spawnErr: unknown;
    const exited = new Promise<number>((resolve) => {
      child.on('error', (e) => {
        spawnErr = e;
        resolve(-1);
      });
      child.on('close', (code) => resolve(code ?? 128));
    });
    if (child.stdout === null) throw new StrataError('INTERNAL', 'rclone: no stdout');
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    const leftovers: string[] = [];
    try {
      // lsjson prints one object per line between "[" and "]", so it can be read as it comes.
      for await (const line of lines) {
        const t = line.trim().replace(/,$/, '');
        if (!t.startsWith('{')) continue;
        const e = JSON.parse(t) as LsEntry;
        const rel = dir === '' ? e.Path : `${dir}/${e.Path}`;
        if (!e.IsDir && e.Name.startsWith(TMP_PREFIX) && isLeftoverTemp(e.Name, e.ModTime === undefined ? undefined : new Date(e.ModTime))) leftovers.push(rel);
        if (e.IsDir || e.Name.startsWith(TMP_PREFIX) || !rel.startsWith(prefix)) continue;
        yield { key: rel, size: e.Size };
      }
    } finally {
      lines.close();
      if (child.exitCode === null) child.kill('SIGTERM');
    }
    const code = await exited;
    if (spawnErr !== undefined) throw this.spawnError(spawnErr);
    if (code !== 0) {
      const err = this.fail({ code, stdout: '', stderr }, `listing ${prefix === '' ? this.description : prefix}`);
      if (err.code !== 'NOT_FOUND') throw err;
    }
    // What killed uploads left behind (their writers are gone): swept, like on a local folder.
    for (const rel of leftovers) await this.rc(['deletefile', this.path(rel)]).catch(() => undefined);
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    const r = await this.rc(['deletefile', this.path(key)]);
    if (r.code === 0) return;
    const err = this.fail(r, `deleting ${key}`);
    if (err.code !== 'NOT_FOUND') throw err;
  }

  /** removeFolder runs `rclone rmdir` on the prefix's folder, which removes only an empty folder
   * (a folder that is not empty, or missing, is left as it is). */
  async removeFolder(prefix: string): Promise<void> {
    const dir = validateKey(prefix.replace(/\/+$/, ''));
    const r = await this.rc(['rmdir', this.path(dir)]);
    if (r.code === 0 || /directory not empty|not empty/i.test(r.stderr)) return;
    const err = this.fail(r, `removing folder ${dir}`);
    if (err.code !== 'NOT_FOUND') throw err;
  }

  async rootExists(): Promise<boolean> {
    const r = await this.rc(['lsjson', '--stat', '--no-mimetype', '--no-modtime', this.path('')]);
    if (r.code === 0) return true;
    const err = this.fail(r, 'opening the destination');
    if (err.code === 'NOT_FOUND') return false;
    throw err;
  }

  async createRoot(): Promise<void> {
    const r = await this.rc(['mkdir', this.path('')]);
    if (r.code !== 0) throw this.fail(r, 'creating the destination');
  }

  async close(): Promise<void> {
    // Every rclone run ends with its operation.
  }
}
