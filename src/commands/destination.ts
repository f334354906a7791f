/**
 * commands/destination: the destination marker from a command's side — a backup checks the
 * password against it (or writes it on the destination's first use) before anything on the
 * destination is touched; `strata init --dest` creates and marks a destination explicitly, and
 * `--adopt` marks one made by an earlier strata after checking the password against its sets.
 */
import { counted } from '../core/words.js';
import type { Backend } from '../backend/backend.js';
import type { CommandContext } from './context.js';
import { checkDescriptorAsync, type KdfParams } from '../core/descriptor.js';
import type { StrataConfig } from '../config/schema.js';
import { StrataError, isStrataError } from '../errors.js';
import { MARKER_KEY, checkMarker, legacyDestination, makeMarker, readMarker, tamperedMarker, writeMarker, wrongPassword, type DestinationMarker } from '../repository/marker.js';
import { Repository } from '../repository/repository.js';
import { destinationText, getPassword } from './common.js';

async function requireMarkerPassword(m: DestinationMarker, password: string, description: string): Promise<void> {
  const check = await checkMarker(m, password);
  if (check === 'wrong-password') throw wrongPassword(description);
  if (check === 'tampered') throw tamperedMarker(description);
}

/**
 * markFresh writes the marker of a destination that has none and returns it. Two first runs at once:
 * the loser finds the winner's marker, checks its password against it and returns that one.
 */
async function markFresh(ctx: CommandContext, backend: Backend, password: string, marker?: DestinationMarker): Promise<DestinationMarker> {
  const m = marker ?? (await makeMarker(password, ctx.clock.now()));
  try {
    await writeMarker(backend, m);
  } catch (e) {
    if (!isStrataError(e, 'ALREADY_EXISTS')) throw e;
    const theirs = await readMarker(new Repository(backend));
    if (theirs === undefined) throw e;
    await requireMarkerPassword(theirs, password, backend.description);
    return theirs;
  }
  ctx.out.info(`initialised the destination ${backend.description} (wrote ${MARKER_KEY})`);
  return m;
}

/** Unlock is a backup's password and the destination marker's check of it (see unlockForBackup). */
export interface Unlock {
  password: string;
  /** The marker's check, in flight: resolves to the marker's KDF parameters, rejects with
   *  WRONG_PASSWORD or DAMAGED (an edited marker). runBackup awaits it before it writes or removes
   *  anything, on the destination or in its state folder; scrypt meanwhile runs on the thread pool
   *  while the run reads the catalog and scans the source. */
  checked: Promise<KdfParams>;
}

/**
 * unlockForBackup returns the password of a backup with the destination marker's check of it (a
 * wrong password ends the run with WRONG_PASSWORD, exit 12, before anything is written or removed),
 * or, on first use, writes the marker. A destination with sets but no marker is refused (adopt it
 * explicitly).
 */
export async function unlockForBackup(ctx: CommandContext, config: StrataConfig, backend: Backend): Promise<Unlock> {
  const repo = new Repository(backend);
  const marker = await readMarker(repo);
  if (marker !== undefined) {
    const password = await getPassword(ctx, config, false);
    const checked = requireMarkerPassword(marker, password, backend.description).then(() => marker.kdf);
    checked.catch(() => undefined); // awaited by the run; never an unhandled rejection meanwhile
    return { password, checked };
  }
  const sets = (await repo.catalog()).complete.length;
  if (sets > 0) throw legacyDestination(backend.description, sets, destinationText(config));
  const password = await getPassword(ctx, config, true);
  const written = await markFresh(ctx, backend, password);
  return { password, checked: Promise.resolve(written.kdf) };
}

/**
 * initDestination is `strata init --dest URL [--adopt]`: it creates the destination when missing
 * (never an S3 bucket) and writes its marker. A marked destination is left as it is (after a
 * password check); one with sets of an earlier strata needs --adopt, which checks the password
 * against the newest set and writes a marker with the same key parameters.
 */
export async function initDestination(ctx: CommandContext, config: StrataConfig, backend: Backend, kind: string, adopt: boolean): Promise<void> {
  if ((await backend.rootExists?.()) === false) {
    if (backend.createRoot === undefined || kind === 's3') {
      throw new StrataError('NO_DESTINATION', `the bucket of ${backend.description} does not exist`, { hint: 'strata never creates a bucket: create it with your provider\'s console or CLI, then run this again.' });
    }
    await backend.createRoot();
    ctx.out.info(`created ${backend.description}`);
  }
  const repo = new Repository(backend);
  const existing = await readMarker(repo);
  if (existing !== undefined) {
    const password = await getPassword(ctx, config, false);
    await requireMarkerPassword(existing, password, backend.description);
    ctx.out.summary(`${backend.description} is already a strata destination`);
    return;
  }
  const sets = (await repo.catalog()).complete;
  if (sets.length > 0 && !adopt) throw legacyDestination(backend.description, sets.length, destinationText(config));
  const password = await getPassword(ctx, config, sets.length === 0);
  const newest = [...sets].sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
  if (newest !== undefined) {
    const check = await checkDescriptorAsync(newest, password);
    if (check === 'wrong-password') {
      throw new StrataError('WRONG_PASSWORD', `the password does not match the sets already on ${backend.description}`, { hint: 'Use the password those sets were made with.' });
    }
    if (check === 'tampered') throw new StrataError('TAMPERED', `set ${newest.id}: its descriptor was edited (its HMAC does not match)`, { hint: 'Check the destination with strata verify before adopting it.' });
  }
  await markFresh(ctx, backend, password, newest === undefined ? undefined : await makeMarker(password, ctx.clock.now(), newest.kdf));
  ctx.out.summary(newest === undefined ? `${backend.description} is ready for backups` : `adopted ${backend.description} with its ${counted(sets.length, 'set')}`);
}
