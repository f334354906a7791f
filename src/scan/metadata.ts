/**
 * scan/metadata: what the scan records beside contents and lstat — owner and group names, and
 * extended attributes (POSIX ACLs included) read with `getfattr` from the `attr` package, many
 * files per process (Node has no xattr API; one process per file would cost ~2 ms each).
 */
import { readFileSync } from 'node:fs';
import { dumpErrorLines, parseDump, sortedXattrs } from '../core/xattrdump.js';
import { StrataError, isStrataError } from '../errors.js';
import { run } from '../exec/run.js';

/** IdNames maps user and group ids to names as /etc/passwd and /etc/group give them. */
export class IdNames {
  private readonly users: Map<number, string>;
  private readonly groups: Map<number, string>;

  constructor(passwd = '/etc/passwd', group = '/etc/group') {
    this.users = readIdFile(passwd);
    this.groups = readIdFile(group);
  }

  user(uid: number): string | undefined {
    return this.users.get(uid);
  }

  group(gid: number): string | undefined {
    return this.groups.get(gid);
  }
}

/** NameIds maps names back to ids on the machine of a restore (the reverse of IdNames). */
export class NameIds {
  private readonly users = new Map<string, number>();
  private readonly groups = new Map<string, number>();

  constructor(passwd = '/etc/passwd', group = '/etc/group') {
    for (const [id, name] of readIdFile(passwd)) if (!this.users.has(name)) this.users.set(name, id);
    for (const [id, name] of readIdFile(group)) if (!this.groups.has(name)) this.groups.set(name, id);
  }

  uid(name: string | undefined): number | undefined {
    return name === undefined ? undefined : this.users.get(name);
  }

  gid(name: string | undefined): number | undefined {
    return name === undefined ? undefined : this.groups.get(name);
  }
}

/** readIdFile reads name:x:id:… lines (passwd and group have the same first three fields). The
 *  first name of an id wins, as getpwuid does. A missing file gives no names (numbers only). */
function readIdFile(file: string): Map<number, string> {
  const m = new Map<number, string>();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return m;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const name = f[0];
    const id = Number(f[2]);
    if (name === undefined || name === '' || name.startsWith('#') || !Number.isInteger(id) || id < 0) continue;
    if (!m.has(id)) m.set(id, name);
  }
  return m;
}

/** XattrReadResult is what one batch read gave: attributes by path (paths without any are absent)
 *  and the paths whose attributes could not be read, with getfattr's message. */
export interface XattrReadResult {
  xattrs: Map<string, Record<string, string>>;
  errors: string[];
}

/** Paths per getfattr process; also bounded by ARG_BYTES of names (Linux allows 2 MiB of argv). */
const BATCH_PATHS = 4096;
const ARG_BYTES = 512 * 1024;

/**
 * readXattrs reads the extended attributes of `paths` (relative to `root`, links not followed) with
 * `getfattr -d -m - -h -e base64`, several thousand paths per process. Throws MISSING_TOOL when
 * getfattr is not installed.
 */
export async function readXattrs(root: string, paths: readonly string[], signal?: AbortSignal): Promise<XattrReadResult> {
  const result: XattrReadResult = { xattrs: new Map(), errors: [] };
  let i = 0;
  while (i < paths.length) {
    const batch: string[] = [];
    let bytes = 0;
    while (i < paths.length && batch.length < BATCH_PATHS) {
      const p = paths[i] ?? '';
      if (batch.length > 0 && bytes + p.length + 1 > ARG_BYTES) break;
      // A name starting with '-' after "--" is safe; "./" also keeps getfattr from reading it as an option in old versions.
      batch.push(p);
      bytes += Buffer.byteLength(p) + 1;
      i++;
    }
    const r = await run('getfattr', ['--dump', '--match=-', '--no-dereference', '--encoding=base64', '--', ...batch], { cwd: root, signal, maxCapture: 256 << 20 });
    if (r.exitCode !== 0 && r.exitCode !== 1) {
      throw new StrataError('TOOL_FAILED', `getfattr failed (exit ${r.exitCode}): ${r.stderr.slice(0, 300)}`);
    }
    for (const [name, x] of parseDump(r.stdout)) {
      const s = sortedXattrs(x);
      if (s !== undefined) result.xattrs.set(name, s);
    }
    result.errors.push(...dumpErrorLines(r.stderr));
  }
  return result;
}

/** xattrToolAvailable tells whether getfattr can be run (package `attr`). */
export async function xattrToolAvailable(): Promise<boolean> {
  try {
    await run('getfattr', ['--version']);
    return true;
  } catch (e) {
    if (isStrataError(e) && e.code === 'MISSING_TOOL') return false;
    throw e;
  }
}
