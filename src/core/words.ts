/** core/words: counts in sentences — "1 file", "2 files" — never "1 files" or "volume(s)". */

/** counted writes n with the singular or plural of a noun (plural: the singular plus "s" unless given). */
export function counted(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
