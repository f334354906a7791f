/**
 * core/xattrdump: the text format of `getfattr --dump -e base64` and `setfattr --restore` (package
 * `attr`), through which strata reads and writes extended attributes (and so POSIX ACLs, which are
 * the xattrs system.posix_acl_access / system.posix_acl_default) many files per process: Node has
 * no xattr API. Pure: parsing and rendering only.
 *
 * Format (one block per file that has attributes; files without any are left out):
 *   # file: <name, bytes outside printable ASCII and the backslash written as \ooo (octal)>
 *   user.foo=0sYmFy          (0s = base64 follows)
 *   <blank line>
 */

/** quoteDumpName writes a path as getfattr does, so setfattr --restore reads it back exactly. */
export function quoteDumpName(name: string): string {
  let out = '';
  for (const b of Buffer.from(name, 'utf8')) {
    out += b > 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : b === 0x20 ? ' ' : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** unquoteDumpName reads a getfattr name back (\ooo escapes are bytes, the whole is UTF-8). */
export function unquoteDumpName(text: string): string {
  if (!text.includes('\\')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const m = c === 0x5c ? /^[0-7]{3}/.exec(text.slice(i + 1, i + 4)) : null;
    if (m !== null) {
      bytes.push(parseInt(m[0], 8));
      i += 3;
    } else {
      bytes.push(...Buffer.from(text[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** parseDump reads getfattr's `--dump -e base64` output: name → (attribute → base64 value). Values
 *  that come out in another encoding (getfattr writes short text values as "..." even with -e base64
 *  in some versions, hex as 0x…) are converted to base64. */
export function parseDump(text: string): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      current = {};
      out.set(unquoteDumpName(line.slice(8)), current);
      continue;
    }
    if (line === '' || current === undefined) continue;
    const eq = line.indexOf('=');
    const name = eq < 0 ? line : line.slice(0, eq);
    const value = eq < 0 ? '' : line.slice(eq + 1);
    current[name] = toBase64(value);
  }
  for (const [k, v] of out) if (Object.keys(v).length === 0) out.delete(k);
  return out;
}

function toBase64(v: string): string {
  if (v.startsWith('0s')) return v.slice(2);
  if (v.startsWith('0x')) return Buffer.from(v.slice(2), 'hex').toString('base64');
  if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) return Buffer.from(unquoteDumpName(v.slice(1, -1)), 'utf8').toString('base64');
  return Buffer.from(v, 'utf8').toString('base64');
}

/** dumpBlock renders one file's attributes for `setfattr --restore` (names sorted, so output is stable). */
export function dumpBlock(name: string, xattrs: Record<string, string>): string {
  const lines = [`# file: ${quoteDumpName(name)}`];
  for (const k of Object.keys(xattrs).sort()) lines.push(`${k}=0s${xattrs[k] ?? ''}`);
  return lines.join('\n') + '\n\n';
}

/** sortedXattrs returns the attributes with their names in sorted order (stable manifests), or
 *  undefined when there are none. */
export function sortedXattrs(x: Record<string, string> | undefined): Record<string, string> | undefined {
  if (x === undefined) return undefined;
  const keys = Object.keys(x).sort();
  if (keys.length === 0) return undefined;
  const o: Record<string, string> = {};
  for (const k of keys) o[k] = x[k] ?? '';
  return o;
}

/** dumpErrorLines splits a tool's stderr into `getfattr: NAME: message` lines, dropping the ones
 *  that only say a filesystem keeps no attributes at all (nothing is lost there). */
export function dumpErrorLines(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/Operation not supported$/.test(l));
}
