/**
 * core/parts: a set's data may be several standard 7-Zip archives ("parts"), each split into
 * volumes and each extractable on its own by stock 7zz (issue 11): files that do not compress
 * (core/compressibility) go to one STORED part (-m0=Copy, still AES-256 with encrypted headers),
 * the rest to one or two LZMA2 parts that 7-Zip writes at the same time, one process each, so
 * that both cores work (one LZMA2 stream at mx5 keeps one core busy: ~20 MB/s here).
 *
 * Parts are in a fixed order and the set's volumes are listed part after part: the descriptor's
 * `volumes` stay ONE flat list, and the PAR2 plan (core/protection) is made over it exactly as for
 * a single archive, so a unit may cover volumes of several parts and the guarantees are computed
 * from the real volume sizes as before. Part 0 is `<set>.7z` (core/keys partArchiveName), the name
 * every set had before parts: an old descriptor is one LZMA2 part holding all its volumes.
 *
 * Everything here is pure: planParts routes and balances file lists, partsOf reads a descriptor.
 */
import { parseSplitVolumeName, partArchiveName, partOfArchive, splitVolumeName } from './keys.js';
import type { Storage } from './compressibility.js';

/** PartMethod is how a part's files are stored: LZMA2 (the tier's level) or Copy (level 0). */
export type PartMethod = 'lzma2' | 'copy';

/** SetPart is one archive of a set as the descriptor records it: its name, method and how many of the set's volumes (in order) are its. */
export interface SetPart {
  archive: string;
  method: PartMethod;
  volumes: number;
}

/** RouteFile is one archived path with its size and where the probe sends it. */
export interface RouteFile {
  path: string;
  size: number;
  storage: Storage;
}

/** RoutePolicy says when a set is split into parts. */
export interface RoutePolicy {
  /** Routing on at all (config routing.enabled). */
  enabled: boolean;
  /** Sets with fewer bytes to archive stay one archive: a few MB gain nothing worth another archive and its tail volume. */
  minBytes: number;
  /** The compressible files are split into two LZMA2 parts (two 7-Zip processes at once) from this many bytes on. */
  splitMinBytes: number;
  /** Files the probe would store are stored only when they add up to this much (else they are compressed with the rest). */
  storeMinBytes: number;
}

/**
 * defaultRoutePolicy: measured on the 2-core machine (bench/issue-11-levers.md, /work/wt/T1.md):
 * storing incompressible files cut 7-Zip's CPU by 31 % for the same output; two LZMA2 processes
 * balanced by bytes beside the stored one took 0.65× the seed's wall time on a 66 MB corpus
 * (37 MB compressible). Below 16 MiB of compressible data 7-Zip runs a few seconds at most and a
 * second process (and archive, and tail volume) is not worth it.
 */
export const defaultRoutePolicy: RoutePolicy = { enabled: true, minBytes: 16 * 1024 * 1024, splitMinBytes: 16 * 1024 * 1024, storeMinBytes: 4 * 1024 * 1024 };

/** PlannedPart is one archive to write: its method, the paths going in (list order) and their bytes. */
export interface PlannedPart {
  method: PartMethod;
  paths: string[];
  bytes: number;
}

/**
 * balanceOwners assigns the files `among` (indices into `sizes`) to `n` lists of nearly equal bytes:
 * largest first, each to the list with the fewest bytes so far (greedy LPT; ties to the lower
 * list). Returns each file's list (by position in `among`) and each list's bytes.
 */
function balanceOwners(sizes: ArrayLike<number>, among: readonly number[], n: number): { owner: number[]; bytes: number[] } {
  const order = among.map((_, k) => k).sort((a, b) => (sizes[among[b] ?? 0] ?? 0) - (sizes[among[a] ?? 0] ?? 0) || a - b);
  const bytes = new Array<number>(Math.max(1, n)).fill(0);
  const owner = new Array<number>(among.length).fill(0);
  for (const k of order) {
    let best = 0;
    for (let j = 1; j < bytes.length; j++) if ((bytes[j] ?? 0) < (bytes[best] ?? 0)) best = j;
    owner[k] = best;
    bytes[best] = (bytes[best] ?? 0) + (sizes[among[k] ?? 0] ?? 0);
  }
  return { owner, bytes };
}

/**
 * balance splits files into `n` lists of nearly equal bytes (balanceOwners). Each list keeps the
 * files' input order (7-Zip's order within an archive stays the scan's). Empty lists are dropped.
 */
export function balance(files: readonly { path: string; size: number }[], n: number): { paths: string[]; bytes: number }[] {
  const { owner, bytes } = balanceOwners(files.map((f) => f.size), files.map((_, i) => i), n);
  const lists = bytes.map((b) => ({ paths: [] as string[], bytes: b }));
  files.forEach((f, i) => lists[owner[i] ?? 0]?.paths.push(f.path));
  return lists.filter((l) => l.paths.length > 0);
}

/** Routing is a plan by index: the parts in order, and the part of each listed path (owner[i]). */
export interface Routing {
  parts: { method: PartMethod; bytes: number; count: number }[];
  owner: Uint8Array;
}

/**
 * route plans a set's parts from the sizes of its listed paths (in list order) and which of them
 * the probe would store: the compressed part(s) first (part 0 keeps `<set>.7z`), the stored part
 * last. One LZMA2 part with everything (today's layout) when routing is off, the set is small, or
 * nothing is worth storing and the compressible bytes are too few to split. It holds a number
 * per path, not the paths, so that a set of a million files costs a few MB here.
 */
export function route(sizes: ArrayLike<number>, stores: (i: number) => boolean, policy: RoutePolicy = defaultRoutePolicy): Routing {
  const n = sizes.length;
  let total = 0;
  let storeBytes = 0;
  for (let i = 0; i < n; i++) {
    total += sizes[i] ?? 0;
    if (stores(i)) storeBytes += sizes[i] ?? 0;
  }
  const owner = new Uint8Array(n);
  const one = (): Routing => ({ parts: [{ method: 'lzma2', bytes: total, count: n }], owner });
  if (!policy.enabled || total < policy.minBytes || n === 0) return one();
  const storing = storeBytes >= policy.storeMinBytes && storeBytes > 0;
  const compressed: number[] = [];
  const stored: number[] = [];
  for (let i = 0; i < n; i++) (storing && stores(i) ? stored : compressed).push(i);
  const compressBytes = total - (storing ? storeBytes : 0);
  const parts: Routing['parts'] = [];
  if (compressed.length > 0) {
    const { owner: o, bytes } = balanceOwners(sizes, compressed, compressBytes >= policy.splitMinBytes ? 2 : 1);
    // Lists left empty (a single compressible file) are dropped; the others are numbered in order.
    const used = bytes.map((_, j) => o.includes(j));
    const index = used.map((u, j) => used.slice(0, j).filter(Boolean).length);
    bytes.forEach((b, j) => {
      if (used[j] === true) parts.push({ method: 'lzma2', bytes: b, count: o.filter((x) => x === j).length });
    });
    compressed.forEach((i, k) => (owner[i] = index[o[k] ?? 0] ?? 0));
  }
  if (stored.length > 0) {
    const k = parts.length;
    parts.push({ method: 'copy', bytes: storeBytes, count: stored.length });
    for (const i of stored) owner[i] = k;
  }
  return parts.length === 0 ? one() : { parts, owner };
}

/** planParts is route() over named files: each part with its paths in list order (for tests and small lists). */
export function planParts(files: readonly RouteFile[], policy: RoutePolicy = defaultRoutePolicy): PlannedPart[] {
  const r = route(files.map((f) => f.size), (i) => files[i]?.storage === 'store', policy);
  const parts = r.parts.map((p) => ({ method: p.method, paths: [] as string[], bytes: p.bytes }));
  files.forEach((f, i) => parts[r.owner[i] ?? 0]?.paths.push(f.path));
  return parts;
}

/** PartVolumes is one part of a set with the index of its first volume in the set's flat list. */
export interface PartVolumes extends SetPart {
  first: number;
}

/**
 * partsOf gives the parts of a set from its descriptor: `parts` when recorded, else (sets made
 * before parts) one LZMA2 part `<set>.7z` holding every volume. A set without volumes has no parts.
 */
export function partsOf(d: { id: string; volumes: readonly { name: string }[]; parts?: readonly SetPart[] | undefined }): PartVolumes[] {
  const recorded = d.parts ?? (d.volumes.length === 0 ? [] : [{ archive: partArchiveName(d.id, 0), method: 'lzma2' as const, volumes: d.volumes.length }]);
  let first = 0;
  return recorded.map((p) => {
    const r = { ...p, first };
    first += p.volumes;
    return r;
  });
}

/** firstVolumeName is the volume 7-Zip is given to read a part (`<archive>.001`). */
export function firstVolumeName(p: SetPart): string {
  return splitVolumeName(p.archive, 1);
}

/**
 * partsIssues checks recorded parts against the set's volumes: names partArchiveName gives, in
 * order, their volume counts adding up to the volumes, and each volume named `<archive>.NNN` in
 * sequence (nothing outside the set's own names ever reaches 7-Zip). Empty: consistent.
 */
export function partsIssues(id: string, volumes: readonly { name: string }[], parts: readonly SetPart[]): string[] {
  const issues: string[] = [];
  const sum = parts.reduce((n, p) => n + p.volumes, 0);
  if (sum !== volumes.length) issues.push(`the parts hold ${sum} volumes, the set lists ${volumes.length}`);
  let i = 0;
  for (const [k, p] of parts.entries()) {
    if (partOfArchive(id, p.archive) !== k) issues.push(`part ${k} is named ${p.archive}, expected ${partArchiveName(id, k)}`);
    if (p.volumes < 1) issues.push(`part ${k} has no volumes`);
    for (let n = 1; n <= p.volumes; n++, i++) {
      const v = volumes[i];
      const parsed = v === undefined ? null : parseSplitVolumeName(v.name);
      if (v !== undefined && (parsed?.archive !== p.archive || parsed.number !== n)) issues.push(`volume ${v.name} is not volume ${n} of ${p.archive}`);
    }
  }
  return issues.slice(0, 5);
}
