/**
 * parity/unit-files: how every PAR2 engine stages and places a unit's files. Files are made in a
 * hidden `.<unit>.par2-partial` folder next to the volumes and moved into place only when whole, so
 * a cut run never leaves a recovery file that looks finished.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { ProtectionUnit } from '../core/protection/index.js';
import { par2FilePattern } from '../core/keys.js';
import { fromFsError } from '../errors.js';

/** preparePartial empties (or makes) the unit's staging folder and returns its path. */
export async function preparePartial(setDir: string, unit: Pick<ProtectionUnit, 'name'>): Promise<string> {
  const partial = path.join(setDir, `.${unit.name}.par2-partial`);
  try {
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
  } catch (e) {
    throw fromFsError(e, `preparing ${partial}`);
  }
  return partial;
}

/**
 * placeUnitFiles moves `made` (file names in `partial`) into the unit's folder, first clearing what
 * an earlier run left of this unit (and only that: par2 never overwrites), and returns their keys
 * relative to the set folder ('/'-separated).
 */
export async function placeUnitFiles(setDir: string, unit: Pick<ProtectionUnit, 'name' | 'dir'>, partial: string, made: readonly string[]): Promise<string[]> {
  const finalDir = path.join(setDir, unit.dir);
  const pattern = par2FilePattern(unit.name);
  try {
    await mkdir(finalDir, { recursive: true });
    for (const f of await readdir(finalDir)) if (pattern.test(f)) await rm(path.join(finalDir, f), { force: true });
    for (const f of made) await rename(path.join(partial, f), path.join(finalDir, f));
  } catch (e) {
    throw fromFsError(e, `moving the PAR2 files of ${unit.name} into place`);
  }
  return made.map((f) => (unit.dir === '' ? f : path.posix.join(unit.dir.split(path.sep).join('/'), f)));
}
