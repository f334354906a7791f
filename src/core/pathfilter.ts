/**
 * core/pathfilter: which manifest paths a restore selects. An argument matches a path exactly, any
 * path below it (a folder), or as a glob: `*` and `?` within one segment, `**` across segments.
 */

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more folders; a trailing `**` matches everything below.
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}(?:/.*)?$`, 's');
}

/** PathFilter decides whether a path is selected. */
export type PathFilter = (path: string) => boolean;

/** makePathFilter builds a filter from restore arguments; no arguments select everything. */
export function makePathFilter(args: readonly string[]): PathFilter {
  if (args.length === 0) return () => true;
  // `./docs/` is `docs`; `.` (or `./`) is the whole source.
  const cleaned = args.map((a) => a.replace(/^\.\/+/, '').replace(/\/+$/, '')).map((a) => (a === '.' ? '' : a));
  const exact = new Set(cleaned.filter((a) => !/[*?]/.test(a)));
  const globs = cleaned.filter((a) => /[*?]/.test(a)).map(globToRegExp);
  return (path: string) => {
    if (exact.has(path)) return true;
    for (const e of exact) if (e === '' || path.startsWith(e + '/')) return true;
    return globs.some((g) => g.test(path));
  };
}

/** ancestors lists the folders above a path, shallowest first (`a/b/c` → `a`, `a/b`). */
export function ancestors(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** isSafeRelativePath tells whether a manifest path can be joined under a target folder safely. */
export function isSafeRelativePath(path: string): boolean {
  if (path === '' || path.startsWith('/') || path.includes('\0')) return false;
  return path.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
