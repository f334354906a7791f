/**
 * core/replicate: which sets a destination lacks and which of their objects still need copying
 * (pipeline/replicate carries it out). Pure: catalogs and listings in, a plan out.
 *
 * A set is identified across destinations by its descriptor hash (descriptorHash: SHA-256 of the
 * descriptor's canonical JSON, HMAC included); a set promoted since it was copied keeps its content
 * hash (contentHash: the same volumes and manifest) and gets its new objects and descriptor; the
 * same id with other volumes never passes for the same set. Only complete sets (a descriptor that reads) are
 * copied; a set the target's retention would remove at once is not copied; an unfinished folder on
 * the target is continued only when its `.pending` marker proves it is a dead run of this job
 * (the caller decides that: `resumable`), never one another run is writing.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, type Descriptor, type StoredObject } from './descriptor.js';
import { RESTORE_TEXT, setObjectKey } from './keys.js';
import { planRetention, type RetentionPolicy } from './retention.js';

/** descriptorHash identifies a set's exact descriptor (hex SHA-256 of its canonical JSON). */
export function descriptorHash(d: Descriptor): string {
  return createHash('sha256').update(canonicalJson(d)).digest('hex');
}

/**
 * contentHash identifies what a set holds — its id, job, machine, time, volumes and manifest — and
 * stays the same when the set is promoted (a new tier, recovery files added, a new descriptor):
 * two destinations with the same content hash hold the same volumes, byte for byte.
 */
export function contentHash(d: Descriptor): string {
  return createHash('sha256').update(canonicalJson({ id: d.id, job: d.job, machine: d.machine, created: d.created, volumes: d.volumes, manifest: d.manifest })).digest('hex');
}

/** DestinationSets is what one destination holds, as its catalog says. */
export interface DestinationSets {
  name: string;
  complete: readonly Descriptor[];
  /** Set folders without a descriptor; `resumable`: its marker proves a dead run of this job left it. */
  incomplete: readonly { id: string; resumable: boolean }[];
}

/** SetCopy is one set to copy to the target. */
export interface SetCopy {
  set: Descriptor;
  hash: string;
  /** The destinations holding this very set (same descriptor hash), the primary first. */
  holders: string[];
  /** The target holds an unfinished folder of it (a killed replicate) to continue. */
  resume: boolean;
  /** The target holds this set with an older descriptor (promoted since): its new objects and descriptor are copied. */
  update: boolean;
}

/** SkippedSet is a set the target lacks that is not copied, and why. */
export interface SkippedSet {
  id: string;
  reason: string;
}

/** ReplicationPlan is what one target gets. */
export interface ReplicationPlan {
  target: string;
  /** Oldest first, so that an INCR's base arrives before it. */
  copies: SetCopy[];
  /** Sets the target already holds (same descriptor). */
  present: string[];
  skipped: SkippedSet[];
}

/** PlanInput is everything a plan is made from. */
export interface PlanInput {
  target: DestinationSets;
  /** Every other destination, the primary first. */
  sources: readonly DestinationSets[];
  /** Which sets are replicated (this job's, made by this machine). */
  select: (d: Descriptor) => boolean;
  /** The target's retention: a set it would remove now is not copied. */
  policy: RetentionPolicy;
  now: Date;
}

/** planReplication decides which sets the target gets from where. */
export function planReplication(input: PlanInput): ReplicationPlan {
  const { target } = input;
  // The set each id stands for: the first source's (the primary's) descriptor wins.
  // Holders: every source with the same content (objects are checked against the chosen descriptor's hashes).
  const chosen = new Map<string, { set: Descriptor; hash: string; content: string; holders: string[] }>();
  for (const src of input.sources) {
    for (const d of src.complete) {
      if (!input.select(d)) continue;
      const c = chosen.get(d.id);
      if (c === undefined) chosen.set(d.id, { set: d, hash: descriptorHash(d), content: contentHash(d), holders: [src.name] });
      else if (c.content === contentHash(d)) c.holders.push(src.name);
    }
  }
  const onTarget = new Map(target.complete.map((d) => [d.id, d]));
  const unfinished = new Map(target.incomplete.map((i) => [i.id, i.resumable]));
  const present: string[] = [];
  const skipped: SkippedSet[] = [];
  const wanted: { set: Descriptor; hash: string; holders: string[]; update: boolean }[] = [];
  for (const c of chosen.values()) {
    const there = onTarget.get(c.set.id);
    if (there !== undefined && descriptorHash(there) === c.hash) present.push(c.set.id);
    else if (there !== undefined && contentHash(there) === c.content) wanted.push({ ...c, update: true });
    else if (there !== undefined) skipped.push({ id: c.set.id, reason: `${target.name} holds another set under this id (other volumes): left alone` });
    else if (unfinished.get(c.set.id) === false) skipped.push({ id: c.set.id, reason: `${target.name} holds an unfinished folder of it that another run is writing (or that is not this job's)` });
    else wanted.push({ ...c, update: false });
  }
  // A set the target's retention would remove at once is not copied (it would be pruned next).
  const decisions = planRetention({ sets: wanted.map((w) => w.set), others: target.complete.filter((d) => !chosen.has(d.id)), policy: input.policy, now: input.now });
  const dropped = new Set(decisions.filter((d) => !d.keep).map((d) => d.set.id));
  const copies: SetCopy[] = [];
  for (const w of wanted) {
    if (dropped.has(w.set.id)) skipped.push({ id: w.set.id, reason: `expired under ${target.name}'s retention` });
    else copies.push({ set: w.set, hash: w.hash, holders: w.holders, resume: unfinished.get(w.set.id) === true, update: w.update });
  }
  copies.sort((a, b) => Date.parse(a.set.created) - Date.parse(b.set.created) || (a.set.id < b.set.id ? -1 : 1));
  present.sort();
  skipped.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { target: target.name, copies, present, skipped };
}

/** CopyObject is one object of a set, with what it must be (sha256 absent: RESTORE.txt of an older set, recorded nowhere). */
export interface CopyObject {
  name: string;
  key: string;
  size?: number;
  sha256?: string;
}

/** setCopyObjects lists the objects of a set in copy order: data, manifest, recovery, RESTORE.txt; the descriptor is not among them (it goes last, on its own). */
export function setCopyObjects(d: Descriptor): CopyObject[] {
  const of = (o: StoredObject): CopyObject => ({ name: o.name, key: setObjectKey(d.id, o.name), size: o.size, sha256: o.sha256 });
  const text: CopyObject = d.restoreText === undefined ? { name: RESTORE_TEXT, key: setObjectKey(d.id, RESTORE_TEXT) } : { name: RESTORE_TEXT, key: setObjectKey(d.id, RESTORE_TEXT), ...d.restoreText };
  return [...d.volumes.map(of), of(d.manifest), ...d.recovery.map(of), text];
}

/** ObjectAction is what to do with one object on the target: it is there intact, copy it, or read it back to tell (size right, hash unknown). */
export type ObjectAction = 'skip' | 'copy' | 'replace' | 'check';

/**
 * objectActions decides each object against what the target's set folder already holds (`existing`:
 * key → size and SHA-256 where the backend knows it). 'replace' is an object there with other
 * bytes (only ever in a folder the caller may continue).
 */
export function objectActions(objects: readonly CopyObject[], existing: ReadonlyMap<string, { size: number; sha256?: string }>): { object: CopyObject; action: ObjectAction }[] {
  return objects.map((object) => {
    const there = existing.get(object.key);
    if (there === undefined) return { object, action: 'copy' };
    if (object.size === undefined || object.sha256 === undefined) return { object, action: 'skip' };
    if (there.size !== object.size) return { object, action: 'replace' };
    if (there.sha256 === undefined) return { object, action: 'check' };
    return { object, action: there.sha256 === object.sha256 ? 'skip' : 'replace' };
  });
}
