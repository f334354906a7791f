/**
 * core/pathfilter: which manifest paths a restore selects. An argument without a wildcard selects
 * that path and everything below it (a folder). A pattern (`*`, `?`, `[abc]`, `**`) follows the
 * rules of .gitignore, as excludes do, matched by picomatch:
 * - without a slash it matches a name at any depth: `*.txt` selects every .txt file;
 * - with a slash (`docs/*.txt`, or a leading `/` as in `/*.txt`) it matches from the source's top;
 * - `*` and `?` stay within one name, `**` crosses folders; names starting with a dot match too;
 * - a folder that matches selects everything below it;
 * - `(`, `)`, `|`, `{`, `}` and a leading `!` are literal characters (no braces, groups or negation).
 */
import picomatch from 'picomatch';

const MATCH_OPTIONS = { dot: true, nobrace: true, noextglob: true, nonegate: true, windows: false } as const;

/** PathFilter decides whether a path is selected. */
export type PathFilter = (path: string) => boolean;

/** isPattern tells whether a restore argument is a pattern rather than a path. */
function isPattern(arg: string): boolean {
  return /[*?[]/.test(arg);
}

/** patternMatcher compiles one gitignore-like pattern (already without `./` and trailing slashes). */
function patternMatcher(pattern: string): (path: string) => boolean {
  const anchored = pattern.includes('/');
  // Characters picomatch would read as groups, alternatives or braces are literal in .gitignore.
  const escaped = pattern.replace(/^\/+/, '').replace(/[(){}|]/g, '\\$&');
  return picomatch(escaped, { ...MATCH_OPTIONS, basename: !anchored });
}

/** makePathFilter builds a filter from restore arguments; no arguments select everything. */
export function makePathFilter(args: readonly string[]): PathFilter {
  if (args.length === 0) return () => true;
  // `./docs/` is `docs`; `.` (or `./`) is the whole source.
  const cleaned = args.map((a) => a.replace(/^\.\/+/, '').replace(/\/+$/, '')).map((a) => (a === '.' ? '' : a));
  const exact = new Set(cleaned.filter((a) => !isPattern(a)));
  const patterns = cleaned.filter(isPattern).map(patternMatcher);
  return (path: string) => {
    if (exact.has(path)) return true;
    for (const e of exact) if (e === '' || path.startsWith(e + '/')) return true;
    if (patterns.length === 0) return false;
    // A folder that matches selects what is below it: the path or one of its folders.
    for (const p of [path, ...ancestors(path)]) if (patterns.some((m) => m(p))) return true;
    return false;
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
