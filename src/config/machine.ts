/**
 * config/machine: the identity of this machine — more exactly, of this state folder. A random id
 * is made once and kept in `<state>/machine-id` (0600); every set and every `.pending` marker
 * records it with the host name, so that two machines backing up to one destination never chain
 * onto, resume, remove or restore each other's sets, even with the same job and source names.
 * Host names are not used for this: two laptops may share one, and one may be renamed.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { MachineRef } from '../core/descriptor.js';
import { errnoCode, StrataError } from '../errors.js';

/** MACHINE_ID_FILE is the file in the state folder that holds the machine id. */
export const MACHINE_ID_FILE = 'machine-id';

const ID = /^[0-9a-f]{32}$/;

/** machineIdFile is where a state folder keeps its machine id. */
export function machineIdFile(stateDir: string): string {
  return path.join(stateDir, MACHINE_ID_FILE);
}

/**
 * readMachineId returns the state folder's machine id, or undefined when it has none yet (a fresh
 * machine: restore and list then make nobody's sets their own).
 */
export async function readMachineId(stateDir: string): Promise<string | undefined> {
  const file = machineIdFile(stateDir);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw e; // cli/main names the state folder (not a folder, no permission…)
  }
  const id = text.trim();
  if (!ID.test(id)) {
    throw new StrataError('CONFIG', `${file} does not hold a machine id (32 hex digits)`, {
      hint: 'Restore it from a backup of the state folder. Deleting it makes this a new machine: its next backups start new chains (FULL sets).',
    });
  }
  return id;
}

/**
 * machineIdentity returns this machine's id and host name, making the id on first use (written
 * whole with O_EXCL, so two first runs at once agree on one id).
 */
export async function machineIdentity(stateDir: string): Promise<MachineRef> {
  const host = hostname();
  const existing = await readMachineId(stateDir);
  if (existing !== undefined) return { id: existing, host };
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const id = randomBytes(16).toString('hex');
  const tmp = `${machineIdFile(stateDir)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fsp.writeFile(tmp, `${id}\n`, { mode: 0o600, flag: 'wx' });
    // link fails if another run made the file meanwhile: then its id is the machine's.
    await fsp.link(tmp, machineIdFile(stateDir));
  } catch (e) {
    if (errnoCode(e) !== 'EEXIST') throw e;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  const made = await readMachineId(stateDir);
  if (made === undefined) throw new StrataError('INTERNAL', `${machineIdFile(stateDir)} vanished after it was written`);
  return { id: made, host };
}

/**
 * newJobName makes the name `strata init` gives a new job: the host name (made a valid job name,
 * at most 40 characters) and 6 random hex digits, e.g. `laptop-3f9a2c`. Never `default`: two
 * machines that both kept the default shared one job by accident.
 */
export function newJobName(host: string = hostname()): string {
  const base = host.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40).replace(/^[.-]+|[.-]+$/g, '');
  return `${base === '' ? 'job' : base}-${randomBytes(3).toString('hex')}`;
}
