/**
 * pipeline/replicate: copy the complete sets a destination lacks from the others (core/replicate
 * decides which), object by object. Each object is downloaded from a destination holding the very
 * same set (same descriptor hash) and checked against the SHA-256 its descriptor records before it
 * is uploaded (the target checks it again on put); a damaged or missing copy is taken from the next
 * holder. Order on the target, as for a backup: a `.pending` marker naming this job and machine
 * first, then the objects, the descriptor LAST (from then on the set counts), then the marker goes.
 * A killed run leaves a folder without descriptor — never counted by list or restore — that the
 * next run continues (objects already there and intact are kept), so replicate is safe to kill and
 * run again. Objects carry the tags the backup gives them (tier, type, set, kind).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Backend } from '../backend/backend.js';
import { checkDescriptorAsync, parseDescriptor, type Descriptor, type MachineRef } from '../core/descriptor.js';
import { descriptorKey, objectTags, setObjectKey } from '../core/keys.js';
import { descriptorHash, objectActions, planReplication, setCopyObjects, type CopyObject, type DestinationSets, type ReplicationPlan } from '../core/replicate.js';
import type { RetentionPolicy } from '../core/retention.js';
import { counted } from '../core/words.js';
import { StrataError, errorMessage, isStrataError } from '../errors.js';
import { bufferSource, fileSource, hashFile } from '../io/hash.js';
import { checkMarker, readMarker, tamperedMarker, writeMarker, wrongPassword } from '../repository/marker.js';
import { Repository } from '../repository/repository.js';
import type { Output } from '../ui/output.js';

/** Endpoint is one opened destination of the job. */
export interface Endpoint {
  name: string;
  backend: Backend;
  /** Its retention (a set it would remove at once is not copied to it). */
  policy: RetentionPolicy;
}

/** ReplicateRequest is one replicate run: every destination (the primary first) and the targets among them. */
export interface ReplicateRequest {
  endpoints: readonly Endpoint[];
  /** Names of the destinations to copy to (default: every one but the primary). */
  targets: readonly string[];
  job: string;
  machine: MachineRef;
  password: string;
  /** A folder for one object at a time on its way. */
  workDir: string;
  now: Date;
  out: Output;
  signal: AbortSignal;
}

/** TargetResult is what one destination got. */
export interface TargetResult {
  name: string;
  copied: string[];
  /** Sets it already held. */
  present: number;
  skipped: { id: string; reason: string }[];
  failed: { id: string; message: string }[];
  /** Bytes uploaded. */
  bytes: number;
}

/** sourcesOf reads one destination's catalog into what the planner needs. */
async function setsOf(e: Endpoint, job: string, now: Date): Promise<DestinationSets & { leftover: string[] }> {
  const catalog = await new Repository(e.backend).catalog();
  return {
    name: e.name,
    complete: catalog.complete,
    incomplete: catalog.incomplete.map((i) => ({ id: i.id, resumable: i.keys.length === 0 || Repository.isDebris(i.pending, now, job) })),
    leftover: catalog.leftoverPending.filter((l) => l.pending?.removing !== true && Repository.isDebris(l.pending, now, job)).map((l) => l.id),
  };
}

/**
 * unlockTarget checks the password against the target's marker, or gives a destination without
 * one the primary's marker (the same password check): a replica is a strata destination like any.
 */
async function unlockTarget(target: Endpoint, primary: Endpoint, password: string, out: Output): Promise<void> {
  const m = await readMarker(new Repository(target.backend));
  if (m !== undefined) {
    const check = await checkMarker(m, password);
    if (check === 'wrong-password') throw wrongPassword(target.backend.description);
    if (check === 'tampered') throw tamperedMarker(target.backend.description);
    return;
  }
  const pm = await readMarker(new Repository(primary.backend));
  if (pm === undefined) return;
  await writeMarker(target.backend, pm).catch((e: unknown) => {
    if (!isStrataError(e, 'ALREADY_EXISTS')) throw e;
  });
  out.info(`initialised ${target.name} (${target.backend.description}) with the primary's destination marker`);
}

/** runReplicate copies to each target what it lacks. Failures of one set are reported and the next set is tried. */
export async function runReplicate(req: ReplicateRequest): Promise<TargetResult[]> {
  const primary = req.endpoints[0];
  if (primary === undefined) throw new StrataError('CONFIG', 'no destinations to replicate between');
  const results: TargetResult[] = [];
  for (const name of req.targets) {
    const target = req.endpoints.find((e) => e.name === name);
    if (target === undefined) throw new StrataError('USAGE', `no destination named ${JSON.stringify(name)}`, { hint: `Destinations: ${req.endpoints.map((e) => e.name).join(', ')}.` });
    await unlockTarget(target, primary, req.password, req.out);
    const sources = req.endpoints.filter((e) => e !== target);
    const catalogs = new Map<string, DestinationSets & { leftover: string[] }>();
    for (const e of req.endpoints) catalogs.set(e.name, await setsOf(e, req.job, req.now));
    const plan = planReplication({
      target: catalogs.get(target.name) as DestinationSets,
      sources: sources.map((s) => catalogs.get(s.name) as DestinationSets),
      select: (d) => d.job === req.job && d.machine?.id === req.machine.id,
      policy: target.policy,
      now: req.now,
    });
    // A set whose copy was killed after its descriptor and before its marker went: complete; the marker goes.
    for (const id of catalogs.get(target.name)?.leftover ?? []) await new Repository(target.backend).clearPending(id);
    results.push(await replicateTo(req, target, plan));
  }
  return results;
}

async function replicateTo(req: ReplicateRequest, target: Endpoint, plan: ReplicationPlan): Promise<TargetResult> {
  const result: TargetResult = { name: target.name, copied: [], present: plan.present.length, skipped: plan.skipped, failed: [], bytes: 0 };
  for (const s of plan.skipped) req.out.info(`${target.name}: ${s.id} not copied: ${s.reason}`);
  if (plan.copies.length === 0) return result;
  await fsp.mkdir(req.workDir, { recursive: true });
  const work = await fsp.mkdtemp(path.join(req.workDir, 'replicate-'));
  try {
    for (const copy of plan.copies) {
      if (req.signal.aborted) throw new StrataError('CANCELLED', `replicate cancelled; ${counted(result.copied.length, 'set')} copied to ${target.name}`);
      const progress = req.out.progress(`${target.name}: copying ${copy.set.id}${copy.resume ? ' (continuing an interrupted copy)' : copy.update ? ' (promoted since it was copied: its new objects and descriptor)' : ''} from ${copy.holders[0] ?? '?'}`);
      try {
        result.bytes += await copySet(req, target, copy.set, copy.holders, work, copy.update);
        result.copied.push(copy.set.id);
      } catch (e) {
        if (isStrataError(e) && (e.code === 'CANCELLED' || e.code === 'AUTH' || e.code === 'DISK_FULL')) throw e;
        result.failed.push({ id: copy.set.id, message: errorMessage(e) });
        req.out.warn(`${target.name}: ${copy.set.id} not copied: ${errorMessage(e)}; it stays unfinished there (never counted) and the next replicate continues it`);
      } finally {
        progress.done();
      }
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
  return result;
}

/** copySet copies one set: marker, objects (checked), descriptor last, marker removed. Returns the bytes uploaded. */
async function copySet(req: ReplicateRequest, target: Endpoint, d: Descriptor, holderNames: readonly string[], work: string, update: boolean): Promise<number> {
  // A descriptor that does not check with the password (tampered, another password) is not copied.
  const check = await checkDescriptorAsync(d, req.password);
  if (check !== 'ok') throw new StrataError(check === 'tampered' ? 'TAMPERED' : 'WRONG_PASSWORD', `its descriptor does not check (${check})`);
  const holders = holderNames.map((n) => req.endpoints.find((e) => e.name === n)).filter((e): e is Endpoint => e !== undefined);
  const repo = new Repository(target.backend);
  // Each object carries the tags the backup gives it (tier, type, set, kind=data|meta: core/keys).
  const tagsOf = (key: string): Record<string, string> => objectTags(d, key.slice(d.id.length + 1));
  await repo.markPending(d.id, req.now, req.job, req.machine, { overwrite: true });
  const existing = new Map<string, { size: number; sha256?: string }>();
  for await (const o of target.backend.list(`${d.id}/`)) existing.set(o.key, o.sha256 === undefined ? { size: o.size } : { size: o.size, sha256: o.sha256 });
  let bytes = 0;
  for (const { object, action } of objectActions(setCopyObjects(d), existing)) {
    if (action === 'skip') {
      // A promoted set's objects already there get its new tier (S3; a no-op where no tags are kept).
      if (update && existing.has(object.key)) await target.backend.retag?.(object.key, tagsOf(object.key), req.signal);
      continue;
    }
    if (action === 'check' && (await intactOn(target, object, work))) continue;
    const file = path.join(work, 'object');
    const from = await fetchChecked(holders, d, object, file);
    if (from === undefined) {
      if (object.sha256 === undefined) continue; // an unrecorded RESTORE.txt missing everywhere: nothing to copy
      throw new StrataError('DAMAGED', `${object.key} is missing or damaged on ${holderNames.join(', ')}`, { hint: 'Repair it where it is damaged (strata verify --repair --from NAME), then run strata replicate again.' });
    }
    try {
      await target.backend.put(object.key, await fileSource(file), { ...(object.sha256 === undefined ? {} : { sha256: object.sha256 }), tags: tagsOf(object.key), overwrite: action !== 'copy', signal: req.signal });
      bytes += (await fsp.stat(file)).size;
    } finally {
      await fsp.rm(file, { force: true });
    }
  }
  // The descriptor last, exactly as the holder stores it (it must be the set of the plan).
  const text = await readDescriptorText(holders, d);
  await target.backend.put(descriptorKey(d.id), bufferSource(text), { tags: tagsOf(descriptorKey(d.id)), overwrite: existing.has(descriptorKey(d.id)), signal: req.signal });
  await repo.clearPending(d.id);
  return bytes + text.length;
}

/** intactOn reads an object back from the target and tells whether it has the recorded size and SHA-256. */
async function intactOn(target: Endpoint, object: CopyObject, work: string): Promise<boolean> {
  const file = path.join(work, 'check');
  try {
    await new Repository(target.backend).download(object.key, file);
    const h = await hashFile(file);
    return h.size === object.size && h.sha256 === object.sha256;
  } catch (e) {
    if (isStrataError(e) && (e.code === 'CANCELLED' || e.code === 'AUTH' || e.code === 'DISK_FULL')) throw e;
    return false;
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/** fetchChecked downloads an object from the first holder whose copy is intact; undefined when none has it. */
async function fetchChecked(holders: readonly Endpoint[], d: Descriptor, object: CopyObject, file: string): Promise<Endpoint | undefined> {
  for (const h of holders) {
    try {
      const expect = object.sha256 === undefined || object.size === undefined ? undefined : { size: object.size, sha256: object.sha256 };
      await new Repository(h.backend).download(setObjectKey(d.id, object.name), file, expect);
      return h;
    } catch (e) {
      if (isStrataError(e) && (e.code === 'CANCELLED' || e.code === 'AUTH' || e.code === 'DISK_FULL')) throw e;
      await fsp.rm(file, { force: true });
    }
  }
  return undefined;
}

/** readDescriptorText reads the descriptor's bytes from a holder where they are the planned set's. */
async function readDescriptorText(holders: readonly Endpoint[], d: Descriptor): Promise<string> {
  const want = descriptorHash(d);
  for (const h of holders) {
    try {
      const text = (await new Repository(h.backend).readSmall(descriptorKey(d.id))).toString('utf8');
      if (descriptorHash(parseDescriptor(text, descriptorKey(d.id))) === want) return text;
    } catch (e) {
      if (isStrataError(e) && (e.code === 'CANCELLED' || e.code === 'AUTH')) throw e;
    }
  }
  throw new StrataError('DAMAGED', `the descriptor of ${d.id} changed on every holder while it was copied`, { hint: 'Run strata replicate again.' });
}
