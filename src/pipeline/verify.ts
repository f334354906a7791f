/**
 * pipeline/verify: check sets — the descriptor's HMAC (with the password), every object's size
 * and SHA-256, the PAR2 recovery sets, and a full 7-Zip integrity test (decrypts everything).
 * With `repair`, damaged or missing volumes are rebuilt from PAR2 and put back on the destination.
 * Without the password, everything but the HMAC and the 7-Zip test still runs (PAR2 works on the
 * encrypted volumes), so a NAS can scrub backups it cannot read.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { fileSource } from '../backend/local.js';
import { planOf, type Descriptor } from '../core/descriptor.js';
import { errorMessage, isStrataError } from '../errors.js';
import { repairSetFolder, verifySet } from '../parity/repair.js';
import type { Repository } from '../repository/repository.js';
import type { Output } from '../ui/output.js';
import type { Tools } from './backup.js';
import { allObjects, checkObjects, localSetDir, type ObjectState } from './setfiles.js';
import { repairManifest } from './manifests.js';
import { checkPassword } from './restore.js';

/** SetVerdict is the outcome of verifying one set. */
export interface SetVerdict {
  id: string;
  status: 'ok' | 'repaired' | 'damaged' | 'tampered' | 'wrong-password';
  objects: Record<string, ObjectState>;
  par2: string;
  archiveTest: 'ok' | 'failed' | 'skipped';
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
}

/** runVerify verifies each set and returns a verdict per set. */
export async function runVerify(req: VerifyRequest): Promise<SetVerdict[]> {
  const verdicts: SetVerdict[] = [];
  for (const d of req.sets) verdicts.push(await verifyOne(req, d));
  return verdicts;
}

async function verifyOne(req: VerifyRequest, d: Descriptor): Promise<SetVerdict> {
  const v: SetVerdict = { id: d.id, status: 'ok', objects: {}, par2: 'none', archiveTest: 'skipped', repaired: [], lost: [], messages: [] };
  if (req.password !== null) {
    try {
      checkPassword(d, req.password);
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
      await fsp.mkdir(dir, { recursive: true });
      for (const o of allObjects(d)) {
        try {
          await req.repo.download(`${d.id}/${o.name}`, path.join(dir, o.name));
        } catch (e) {
          if (!isStrataError(e, 'NOT_FOUND')) v.messages.push(`${o.name}: ${errorMessage(e)}`);
        }
      }
    }
    let states = await checkObjects(dir, allObjects(d));
    const bad = () => [...states.entries()].filter(([, s]) => s !== 'ok').map(([n]) => n);
    const initiallyBad = bad();
    const plan = planOf(d);
    const manifestUnit = d.manifestProtection ?? null;
    if (manifestUnit !== null) {
      // The manifest's own PAR2 set: checked like the volumes' units, repaired first with --repair.
      try {
        const mv = await req.tools.parity.verify(manifestUnit, dir, { signal: req.signal });
        if (mv.status !== 'ok') v.messages.push(`manifest PAR2: ${mv.status}`);
      } catch (e) {
        v.messages.push(`manifest PAR2: ${errorMessage(e)}`);
      }
      if (req.repair && states.get(d.manifest.name) !== 'ok' && (await repairManifest(d, dir, req.tools.parity))) {
        states.set(d.manifest.name, 'ok');
        v.repaired.push(d.manifest.name);
        if (!local) await req.repo.put(d.id, d.manifest.name, await fileSource(path.join(dir, d.manifest.name)), { sha256: d.manifest.sha256, overwrite: true, tags: { tier: d.tier, type: d.type, set: d.id } });
      }
    }
    if (plan !== null) {
      const par = await verifySet(plan, dir, req.tools.parity, { signal: req.signal });
      const units = par.units.filter((u) => u.status !== 'ok');
      v.par2 = par.status === 'ok' ? `ok (${par.units.length} set${par.units.length === 1 ? '' : 's'})` : `${par.status}: ${units.map((u) => `${u.name} ${u.status}${u.blocksNeeded !== undefined ? ` (needs ${u.blocksNeeded} more blocks)` : ''}`).join(', ')}`;
      if (initiallyBad.length > 0 && req.repair) {
        await repairSetFolder(d, dir, req.tools.parity);
        states = await checkObjects(dir, allObjects(d));
        const fixed = initiallyBad.filter((n) => states.get(n) === 'ok' && !v.repaired.includes(n));
        v.repaired.push(...fixed);
        if (!local) {
          for (const n of fixed) {
            const o = allObjects(d).find((x) => x.name === n);
            if (o !== undefined) await req.repo.put(d.id, n, await fileSource(path.join(dir, n)), { sha256: o.sha256, overwrite: true, tags: { tier: d.tier, type: d.type, set: d.id } });
          }
        }
      }
    }
    v.lost = bad();
    v.objects = Object.fromEntries(states);
    if (req.password !== null && v.lost.length === 0) {
      try {
        const first = d.volumes[0];
        if (first !== undefined) await req.tools.sevenZip.test({ archive: path.join(dir, first.name), password: req.password, signal: req.signal });
        await req.tools.sevenZip.test({ archive: path.join(dir, d.manifest.name), password: req.password, signal: req.signal });
        v.archiveTest = 'ok';
      } catch (e) {
        v.archiveTest = 'failed';
        v.messages.push(`7-Zip test: ${errorMessage(e)}`);
      }
    }
    v.status = v.lost.length > 0 || v.archiveTest === 'failed' ? 'damaged' : v.repaired.length > 0 ? 'repaired' : initiallyBad.length > 0 ? 'damaged' : 'ok';
    return v;
  } finally {
    if (!local) await fsp.rm(dir, { recursive: true, force: true });
  }
}
