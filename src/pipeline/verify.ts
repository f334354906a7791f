/**
 * pipeline/verify: check sets — the descriptor's HMAC (with the password), every object's size
 * and SHA-256, the PAR2 recovery sets, and a full 7-Zip integrity test (decrypts everything).
 * With `repair`, damaged or missing volumes are rebuilt from PAR2 and put back on the destination.
 * Without the password, everything but the HMAC and the 7-Zip test still runs (PAR2 works on the
 * encrypted volumes), so a NAS can scrub backups it cannot read.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileSource } from '../io/hash.js';
import { planOf, type Descriptor } from '../core/descriptor.js';
import { firstVolumeName, partsOf } from '../core/parts.js';
import type { ProtectionUnit } from '../core/protection/index.js';
import { errnoCode, errorMessage, isStrataError } from '../errors.js';
import type { ParityEngine } from '../parity/engine.js';
import { unitFilePattern } from '../parity/par2cmdline.js';
import { checkedBytes, repairSetFolder, verifySet } from '../parity/repair.js';
import type { Repository } from '../repository/repository.js';
import type { Output } from '../ui/output.js';
import type { Tools } from './backup/index.js';
import { allObjects, checkObjects, fetchObjects, localSetDir, type ObjectState } from './setfiles.js';
import { repairManifest } from './manifests.js';
import { checkPassword } from './restore/index.js';
import { checkRestoreFile, rewriteRestoreFile, type RestoreFileState } from './restore-file.js';
import { RESTORE_TEXT, objectTags, restoreTextKey, setObjectKey } from '../core/keys.js';
import { counted } from '../core/words.js';
import type { RetrievalTier } from '../core/cold.js';
import { thawObjects } from './restore/thaw.js';
import { PhaseMeter } from '../ui/meter.js';

/** SetVerdict is the outcome of verifying one set. */
export interface SetVerdict {
  id: string;
  status: 'ok' | 'repaired' | 'damaged' | 'tampered' | 'wrong-password';
  objects: Record<string, ObjectState>;
  par2: string;
  archiveTest: 'ok' | 'failed' | 'skipped';
  /** The set's RESTORE.txt against its descriptor's record ('repaired': written again). */
  restoreText: RestoreFileState | 'repaired';
  repaired: string[];
  lost: string[];
  messages: string[];
}

/** VerifyRequest selects sets and what to check. */
export interface VerifyRequest {
  repo: Repository;
  tools: Tools;
  password: string | null;
  sets: Descriptor[];
  repair: boolean;
  workDir: string;
  out: Output;
  signal: AbortSignal;
  /** The destination's other sets: a failed password check they contradict is tampering. */
  others?: readonly Descriptor[];
  /** Retrieval tier of restore requests for archived objects (--retrieval-tier). */
  retrievalTier?: RetrievalTier | undefined;
  /** Shows each phase of each set with its bytes on the status line and times it (--json `phases`). */
  meter?: PhaseMeter;
}

/** runVerify verifies each set and returns a verdict per set. */
export async function runVerify(request: VerifyRequest): Promise<SetVerdict[]> {
  const req = { ...request, meter: request.meter ?? new PhaseMeter(request.out) };
  const verdicts: SetVerdict[] = [];
  try {
    // Archived objects are requested up front, in one pass, before any set is downloaded (restore/thaw).
    await thawObjects(req.repo.backend, req.sets.flatMap((d) => [...allObjects(d).map((o) => ({ key: setObjectKey(d.id, o.name), size: o.size })), ...restoreTextItem(d)]), { tier: req.retrievalTier, out: req.out, command: 'the same strata verify' });
    for (const d of req.sets) verdicts.push(await verifyOne(req, d));
  } finally {
    req.meter.close();
  }
  return verdicts;
}

async function verifyOne(req: VerifyRequest & { meter: PhaseMeter }, d: Descriptor): Promise<SetVerdict> {
  const { meter } = req;
  const bytes = allObjects(d).reduce((n, o) => n + o.size, 0);
  const objects = counted(allObjects(d).length, 'object');
  const v: SetVerdict = { id: d.id, status: 'ok', objects: {}, par2: 'none', archiveTest: 'skipped', restoreText: 'ok', repaired: [], lost: [], messages: [] };
  if (req.password !== null) {
    try {
      checkPassword(d, req.password, req.others);
    } catch (e) {
      v.status = isStrataError(e, 'WRONG_PASSWORD') ? 'wrong-password' : 'tampered';
      v.messages.push(errorMessage(e));
      return v;
    }
  }
  const inPlace = localSetDir(req.repo, d.id);
  const local = inPlace !== undefined;
  const dir = inPlace ?? path.join(req.workDir, `verify-${d.id}`);
  try {
    if (!local) {
      // Never a copy a killed earlier run left: an object now missing on the destination must show as missing.
      await fsp.rm(dir, { recursive: true, force: true });
      await fsp.mkdir(dir, { recursive: true });
      meter.show(`${d.id}: fetching ${objects}`, bytes);
      await fetchObjects(req.repo, d.id, allObjects(d), dir, (name, message) => v.messages.push(`${name}: ${message}`), meter);
      meter.end('fetch', bytes);
    }
    meter.show(`${d.id}: checking ${objects}`, bytes);
    let states = await checkObjects(dir, allObjects(d), meter);
    meter.end('check', bytes);
    const bad = () => [...states.entries()].filter(([, s]) => s !== 'ok').map(([n]) => n);
    const initiallyBad = bad();
    const plan = planOf(d);
    const manifestUnit = d.manifestProtection ?? null;
    // par2's progress, as bytes of the volumes (and manifest) each unit checks; a repair's are counted on top.
    const par2 = {
      bytes: 0,
      add(n: number, detail?: string): void {
        par2.bytes += n;
        meter.add(n, detail);
      },
    };
    meter.show(`${d.id}: PAR2${req.repair ? ' (and repair)' : ''}`, (plan === null ? 0 : checkedBytes(plan)) + (manifestUnit === null ? 0 : d.manifest.size));
    if (manifestUnit !== null) {
      // The manifest's own PAR2 set: checked like the volumes' units, repaired first with --repair.
      try {
        const mv = await req.tools.parity.verify(manifestUnit, dir, { signal: req.signal, progress: par2 });
        if (mv.status !== 'ok') v.messages.push(`manifest PAR2: ${mv.status}`);
      } catch (e) {
        v.messages.push(`manifest PAR2: ${errorMessage(e)}`);
      }
      if (req.repair && states.get(d.manifest.name) !== 'ok' && (await repairManifest(d, dir, req.tools.parity))) {
        states.set(d.manifest.name, 'ok');
        v.repaired.push(d.manifest.name);
        if (!local) await req.repo.put(d.id, d.manifest.name, await fileSource(path.join(dir, d.manifest.name)), { sha256: d.manifest.sha256, overwrite: true, tags: objectTags(d, d.manifest.name) });
      }
    }
    if (plan !== null) {
      const par = await verifySet(plan, dir, req.tools.parity, { signal: req.signal, progress: par2 }, d.volumes.map((o) => o.name));
      const units = par.units.filter((u) => u.status !== 'ok');
      v.par2 = par.status === 'ok' ? `ok (${par.units.length} set${par.units.length === 1 ? '' : 's'})` : `${par.status}: ${units.map((u) => `${u.name} ${u.status}${u.blocksNeeded !== undefined ? ` (needs ${u.blocksNeeded} more blocks)` : ''}`).join(', ')}`;
      if (initiallyBad.length > 0 && req.repair) {
        meter.show(`${d.id}: repairing with PAR2`);
        await repairSetFolder(d, dir, req.tools.parity, { progress: par2 });
        states = await checkObjects(dir, allObjects(d));
        const fixed = initiallyBad.filter((n) => states.get(n) === 'ok' && !v.repaired.includes(n));
        v.repaired.push(...fixed);
        if (!local) {
          for (const n of fixed) {
            const o = allObjects(d).find((x) => x.name === n);
            if (o !== undefined) await req.repo.put(d.id, n, await fileSource(path.join(dir, n)), { sha256: o.sha256, overwrite: true, tags: objectTags(d, o.name) });
          }
        }
      }
    }
    if (req.repair && bad().length > 0) {
      for (const [name, message] of await regenerateRecovery(d, dir, states, req.tools.parity, req.signal)) {
        if (message !== undefined) {
          v.messages.push(`${name}: could not be rebuilt: ${message}`);
          continue;
        }
        v.repaired.push(name);
        if (!local) {
          const o = d.recovery.find((x) => x.name === name);
          if (o !== undefined) await req.repo.put(d.id, name, await fileSource(path.join(dir, name)), { sha256: o.sha256, overwrite: true, tags: objectTags(d, o.name) });
        }
      }
    }
    meter.end('par2', par2.bytes);
    v.lost = bad();
    v.objects = Object.fromEntries(states);
    // Damaged recovery files cost protection, not data: the archive is still tested when every
    // volume and the manifest are intact.
    const dataIntact = [...d.volumes, d.manifest].every((o) => states.get(o.name) === 'ok');
    if (req.password !== null && dataIntact) {
      // 7-Zip decrypts and reads everything: its percent of the volumes' bytes.
      const volumeBytes = d.volumes.reduce((n, o) => n + o.size, 0);
      meter.show(`${d.id}: 7-Zip test`, volumeBytes);
      let tested = 0;
      // Bytes of the parts tested before, and of the part being tested.
      let before = 0;
      let partBytes = volumeBytes;
      const onProgress = (p: { percent: number; file?: string }): void => {
        const now = before + Math.round((p.percent / 100) * partBytes);
        meter.add(now - tested, p.file);
        tested = now;
      };
      try {
        // Every archive of the set (core/parts), one after the other.
        for (const part of partsOf(d)) {
          partBytes = d.volumes.slice(part.first, part.first + part.volumes).reduce((n, o) => n + o.size, 0);
          await req.tools.sevenZip.test({ archive: path.join(dir, firstVolumeName(part)), password: req.password, signal: req.signal, onProgress });
          before += partBytes;
        }
        await req.tools.sevenZip.test({ archive: path.join(dir, d.manifest.name), password: req.password, signal: req.signal });
        v.archiveTest = 'ok';
      } catch (e) {
        v.archiveTest = 'failed';
        v.messages.push(`7-Zip test: ${errorMessage(e)}`);
      }
      meter.end('test', volumeBytes);
    }
    meter.show(`${d.id}: ${RESTORE_TEXT}`);
    // RESTORE.txt: what a person runs without strata, so a replaced one is damage, not a remark.
    const rt = await checkRestoreFile(req.repo, d);
    v.restoreText = rt.state;
    if (rt.state === 'not-covered') v.messages.push(rt.detail);
    else if (rt.state !== 'ok') {
      let fixed = false;
      if (req.repair) {
        try {
          await rewriteRestoreFile(req.repo, d);
          fixed = true;
        } catch (e) {
          if (isStrataError(e, 'CANCELLED') || isStrataError(e, 'AUTH')) throw e;
          v.messages.push(`${RESTORE_TEXT}: could not be written again: ${errorMessage(e)}`);
        }
      }
      if (fixed) {
        v.restoreText = 'repaired';
        v.repaired.push(RESTORE_TEXT);
        v.messages.push(`${rt.detail}: written again from the descriptor`);
      } else {
        v.lost.push(RESTORE_TEXT);
        v.messages.push(rt.detail);
      }
    }
    const restoreTextBad = v.restoreText === 'missing' || v.restoreText === 'changed';
    meter.end('restore-text');
    v.status = v.lost.length > 0 || v.archiveTest === 'failed' ? 'damaged' : v.repaired.length > 0 ? 'repaired' : initiallyBad.length > 0 || restoreTextBad ? 'damaged' : 'ok';
    return v;
  } finally {
    if (!local) await fsp.rm(dir, { recursive: true, force: true });
  }
}

/**
 * regenerateRecovery rebuilds the damaged or missing PAR2 files of every unit whose volumes are
 * intact. par2 create is deterministic — the same files, block size and counts give the same bytes
 * (par2cmdline 0.8.1, measured) — so a rebuilt file must hash exactly as the descriptor records; if
 * one does not, the rebuilt files are dropped and the old ones put back. Returns, per damaged file,
 * undefined when rebuilt or the reason it was not.
 */
async function regenerateRecovery(d: Descriptor, dir: string, states: Map<string, ObjectState>, parity: ParityEngine, signal: AbortSignal): Promise<Map<string, string | undefined>> {
  const outcome = new Map<string, string | undefined>();
  const units: { unit: ProtectionUnit; names: string[] }[] = (d.protection?.units ?? []).map((unit) => ({ unit, names: d.volumes.map((o) => o.name) }));
  if (d.manifestProtection !== undefined && d.manifestProtection !== null) units.push({ unit: d.manifestProtection, names: [d.manifest.name] });
  for (const { unit, names } of units) {
    const pattern = unitFilePattern(unit.name);
    const prefix = unit.dir === '' ? '' : `${unit.dir.split(path.sep).join('/')}/`;
    const files = d.recovery.filter((r) => r.name.startsWith(prefix) && pattern.test(r.name.slice(prefix.length)));
    const bad = files.filter((f) => states.get(f.name) !== 'ok');
    if (bad.length === 0) continue;
    if (unit.volumes.some((i) => states.get(names[i] ?? '') !== 'ok')) {
      for (const f of bad) outcome.set(f.name, `the volumes of ${unit.name} are not all intact`);
      continue;
    }
    const aside = async (from: string, to: string): Promise<void> => {
      await fsp.rename(path.join(dir, from), path.join(dir, to)).catch((e: unknown) => {
        if (errnoCode(e) !== 'ENOENT') throw e;
      });
    };
    for (const f of files) await aside(f.name, `${f.name}.old`);
    let reason: string | undefined;
    try {
      // As the set's recorded engine made them; else as this engine makes them (recovery files a
      // promotion added later may come from another engine than the set's own).
      let wrong: typeof files = [];
      const recorded = d.tool['par2'];
      for (const madeBy of recorded === undefined || recorded === parity.version ? [undefined] : [recorded, undefined]) {
        await parity.create(unit, dir, names, { signal, ...(madeBy === undefined ? {} : { madeBy }) });
        const rebuilt = await checkObjects(dir, files);
        wrong = files.filter((f) => rebuilt.get(f.name) !== 'ok');
        if (wrong.length === 0) break;
      }
      if (wrong.length > 0) reason = `par2 made different bytes (${wrong.map((f) => f.name).join(', ')})`;
    } catch (e) {
      if (isStrataError(e, 'CANCELLED')) throw e;
      reason = errorMessage(e);
    }
    for (const f of files) {
      if (reason === undefined) await fsp.rm(path.join(dir, `${f.name}.old`), { force: true });
      else {
        await fsp.rm(path.join(dir, f.name), { force: true });
        await aside(`${f.name}.old`, f.name);
      }
    }
    for (const f of bad) {
      outcome.set(f.name, reason);
      if (reason === undefined) states.set(f.name, 'ok');
    }
  }
  return outcome;
}

/** restoreTextItem is a set's RESTORE.txt as an object verify reads (for restore/thaw), where the descriptor records it. */
export function restoreTextItem(d: Descriptor): { key: string; size: number }[] {
  return d.restoreText === undefined ? [] : [{ key: restoreTextKey(d.id), size: d.restoreText.size }];
}
