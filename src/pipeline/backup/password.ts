/**
 * pipeline/backup/password: one destination, one password. The run's password is checked once,
 * against the newest set on the destination; scrypt (~0.15 s) runs on the thread pool from the
 * start, overlapping the scan, and the run waits for it only before it reads a set (manifest),
 * writes one, removes debris, or says that nothing changed. It also picks the KDF parameters of
 * the run's new sets.
 */
import { randomBytes } from 'node:crypto';
import type { Backend } from '../../backend/backend.js';
import { defaultKdf, deriveKeysAsync, type Descriptor, type DescriptorCheck, type KdfParams } from '../../core/descriptor.js';
import { StrataError } from '../../errors.js';
import { checkSetAsync } from '../set-check.js';
import { checkMarker, readMarker } from '../../repository/marker.js';
import type { Repository } from '../../repository/repository.js';

/**
 * checkedMarkerKdf reads the destination's marker and returns its KDF parameters when the password
 * opens it and it is untouched (its key is cached from the check before the run: no second scrypt);
 * undefined otherwise (no marker, or one edited since: its salt may have been chosen).
 */
export async function checkedMarkerKdf(repo: Repository, password: string): Promise<KdfParams | undefined> {
  try {
    const m = await readMarker(repo);
    return m !== undefined && (await checkMarker(m, password)) === 'ok' ? m.kdf : undefined;
  } catch {
    return undefined;
  }
}

/**
 * PasswordCheck checks the run's password against the destination's marker (when the command
 * checked it: its check in flight) and its newest set, once, and holds the new sets' KDF
 * parameters. Both checks run on the thread pool from the start; run() waits for them.
 */
export class PasswordCheck {
  private readonly newest: Descriptor | undefined;
  private readonly check: Promise<DescriptorCheck>;
  private params: KdfParams | undefined;

  constructor(
    complete: readonly Descriptor[],
    password: string,
    private readonly backend: Backend,
    /** The destination marker's KDF parameters once its check passed (rejects when it failed;
     *  undefined: no marker, or none checked). */
    private readonly marker: Promise<KdfParams | undefined>,
  ) {
    this.newest = [...complete].sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0];
    const newest = this.newest;
    // A failed check that the other sets contradict is an edited descriptor, not a wrong password.
    this.check = newest === undefined ? Promise.resolve<DescriptorCheck>('ok') : checkSetAsync(newest, password, complete).then((c) => c.check);
    this.check.catch(() => undefined); // awaited by run(); never an unhandled rejection meanwhile
    // The new sets' keys (descriptor and resume-journal HMACs) are derived meanwhile as well, once
    // the marker tells which parameters they take (its own are being derived by its check).
    marker.then((kdf) => {
      const params = this.choose(kdf);
      if (params === newest?.kdf || params === kdf) return; // being derived by a check already
      this.params = params; // a fresh salt: run() keeps the one whose keys are derived here
      deriveKeysAsync(password, params).catch(() => undefined);
    }, () => undefined);
  }

  /**
   * choose picks the new sets' KDF parameters. Sets of one destination share the KDF salt of the
   * newest set, so that reading a chain of sets costs one scrypt run, not one per set. (Same
   * password either way; the salt only has to differ between destinations, against precomputed
   * tables.) The destination's marker has a salt of its own: new sets take it, so that once the
   * newest set has it, a run derives one key (the marker's) instead of two.
   */
  private choose(markerKdf: KdfParams | undefined): KdfParams {
    if (this.params !== undefined) return this.params;
    const newest = this.newest;
    return markerKdf !== undefined && sameKdfParams(markerKdf) ? markerKdf : newest !== undefined && sameKdfParams(newest.kdf) ? newest.kdf : freshKdf();
  }

  /** run throws WRONG_PASSWORD (or the marker's error) unless the password matches the destination's marker and sets. */
  async run(): Promise<void> {
    const markerKdf = await this.marker;
    const c = await this.check;
    if (c === 'wrong-password') {
      throw new StrataError('WRONG_PASSWORD', `the password does not match the sets already on ${this.backend.description}`, {
        hint: 'Use the password those sets were made with (a destination holds sets of one password).',
      });
    }
    this.params = this.choose(markerKdf);
    // An edited descriptor lends nothing to new sets, not its salt either (it may have been chosen).
    if (c !== 'ok' && this.params === this.newest?.kdf) this.params = freshKdf();
  }

  /** kdf is the KDF parameters (salt) of the run's new sets; read it after run(), which replaces a salt taken from an edited descriptor. */
  get kdf(): KdfParams {
    if (this.params === undefined) throw new StrataError('INTERNAL', 'the new sets\' KDF parameters were read before the password check');
    return this.params;
  }
}

function freshKdf(): KdfParams {
  return defaultKdf(randomBytes(16).toString('base64'));
}

/** sameKdfParams tells whether a set's KDF uses today's cost parameters (else: a fresh salt and today's). */
function sameKdfParams(k: KdfParams): boolean {
  const d = defaultKdf('');
  return k.alg === d.alg && k.N === d.N && k.r === d.r && k.p === d.p;
}
