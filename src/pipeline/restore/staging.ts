/**
 * pipeline/restore/staging: restore's work folders — the hidden staging folder inside the target
 * that files are extracted into, the download folder in the state folder — each marked with the
 * process that made it, and the sweep that removes those a killed restore left behind.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { currentStamp, isStampAlive, type ProcessStamp } from '../../repository/process.js';
import type { Output } from '../../ui/output.js';

/** STAGING_PREFIX starts the name of restore's work folder inside the target. */
export const STAGING_PREFIX = '.strata-restore-';

/** STAGING_MARKER is the file inside that folder that says strata made it, and which process. */
const STAGING_MARKER = '.strata-restore-owner.json';
const STAGING_SIGNATURE = 'strata restore work folder';

/** STAGING_NAME and WORK_NAME match the names of restore's folders in the target and in the state folder. */
export const STAGING_NAME = /^\.strata-restore-[0-9a-f]{12}$/;
export const WORK_NAME = /^restore-[A-Za-z0-9]{6}$/;

/** makeStaging creates restore's work folder in the target, with its marker. */
export async function makeStaging(dir: string): Promise<void> {
  await fsp.mkdir(dir, { mode: 0o700 });
  await writeOwnerMarker(dir);
}

/** writeOwnerMarker marks a folder as this restore's (signature, host, pid, boot id, start time). */
export async function writeOwnerMarker(dir: string): Promise<void> {
  const marker = { signature: STAGING_SIGNATURE, ...currentStamp(), host: hostname(), started: new Date().toISOString() };
  await fsp.writeFile(path.join(dir, STAGING_MARKER), JSON.stringify(marker) + '\n', { mode: 0o600, flag: 'wx' });
}

/**
 * sweepStaging removes work folders that a killed restore (kill -9, power loss) left in `root` (the
 * target, or the state folder's work folder): only folders named like strata's, holding strata's
 * marker, whose process on this host is gone. Anything else of that name is left alone.
 */
export async function sweepStaging(root: string, pattern: RegExp, what: string, out: Output): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!pattern.test(name)) continue;
    const dir = path.join(root, name);
    const st = fs.lstatSync(dir, { throwIfNoEntry: false });
    if (st?.isDirectory() !== true) continue;
    let marker: unknown;
    try {
      marker = JSON.parse(await fsp.readFile(path.join(dir, STAGING_MARKER), 'utf8'));
    } catch {
      continue; // no marker: not provably strata's
    }
    if (typeof marker !== 'object' || marker === null) continue;
    const m = marker as Record<string, unknown>;
    if (m['signature'] !== STAGING_SIGNATURE || typeof m['pid'] !== 'number' || m['host'] !== hostname()) continue;
    const stamp: ProcessStamp = { pid: m['pid'] };
    if (typeof m['bootId'] === 'string') stamp.bootId = m['bootId'];
    if (typeof m['procStart'] === 'string') stamp.procStart = m['procStart'];
    if (isStampAlive(stamp)) continue; // a restore into the same target still running
    await fsp.rm(dir, { recursive: true, force: true });
    out.info(`removed ${name}, ${what} (pid ${stamp.pid})`);
  }
}
