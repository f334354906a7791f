/**
 * core/suggest: "did you mean" for a misspelt config key, command or flag — the one place that
 * guesses what was meant.
 */

/** editDistance is the Damerau–Levenshtein distance (adjacent swaps count as one edit). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      row[j] = v;
    }
  }
  return at(a.length, b.length);
}

/**
 * suggest finds the name a misspelt one most likely meant: the same ignoring case, "_", "-" and
 * spaces; else the nearest within two edits (one for names of up to five letters); else the one
 * name that starts with what was typed (two letters at least). undefined when nothing is close.
 */
export function suggest(typed: string, allowed: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  const exact = allowed.find((a) => norm(a) === norm(typed));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const a of allowed) {
    const d = editDistance(norm(typed), norm(a));
    if (d < bestDistance) {
      best = a;
      bestDistance = d;
    }
  }
  const limit = Math.min(2, Math.max(1, Math.floor(typed.length / 3)));
  if (bestDistance <= limit) return best;
  const prefixed = allowed.filter((a) => typed.length >= 2 && norm(a).startsWith(norm(typed)));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
