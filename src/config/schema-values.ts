/**
 * config/schema-values: what the config schema's sections share — the "expected X, got Y" messages
 * and durations in seconds.
 */

export type ZodErrorFn = (iss: { code?: string; input?: unknown }) => string | undefined;

/**
 * describe names the kind of a YAML value for "expected X, got Y" messages. A secret (a password
 * written inline where a password block belongs) is only named by kind, never shown.
 */
export function describe(v: unknown, secret = false): string {
  if (v === undefined || v === null) return 'nothing';
  if (typeof v === 'string') return v === '' ? 'an empty string' : secret ? 'a string' : `the string ${JSON.stringify(v)}`;
  if (secret && (typeof v === 'number' || typeof v === 'boolean')) return `a ${typeof v}`;
  if (typeof v === 'number') return `the number ${v}`;
  if (typeof v === 'boolean') return `${v}`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

/**
 * expected builds a zod error function: "is required" when absent, else "expected X, got Y";
 * `secret` keeps the value out of the message (see describe).
 */
export function expected(what: string, secret = false): { error: ZodErrorFn } {
  return {
    error: (iss) => {
      if (iss.input === undefined) return 'is required';
      return `expected ${what}, got ${describe(iss.input, secret)}`;
    },
  };
}

/** parseSeconds reads a duration such as 60, "60", "45s", "2m" or "1h" as whole seconds; undefined when it is none. */
export function parseSeconds(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = /^\s*(\d+)\s*(s|sec|m|min|h)?\s*$/.exec(v);
  if (m === null) return undefined;
  const n = Number(m[1]) * (m[2] === undefined || m[2].startsWith('s') ? 1 : m[2].startsWith('m') ? 60 : 3600);
  return n > 0 && n <= 86_400 ? n : undefined;
}

