/** pipeline/restore/password: the password check on a set before anything of it is read (restore, verify). */
import type { Descriptor } from '../../core/descriptor.js';
import { StrataError } from '../../errors.js';
import { checkSet, checkSetAsync, type SetCheck } from '../set-check.js';

/**
 * checkPassword verifies the password against one descriptor, mapping the outcome to errors. With
 * the destination's other sets, a failed password check that they contradict is tampering.
 */
export function checkPassword(d: Descriptor, password: string, others: readonly Descriptor[] = []): void {
  passOrThrow(d, checkSet(d, password, others));
}

/** checkPasswordAsync is checkPassword with scrypt on the thread pool, so that other work can go on meanwhile. */
export async function checkPasswordAsync(d: Descriptor, password: string, others: readonly Descriptor[] = []): Promise<void> {
  passOrThrow(d, await checkSetAsync(d, password, others));
}

function passOrThrow(d: Descriptor, { check: c, reason }: SetCheck): void {
  if (c === 'wrong-password') {
    throw new StrataError('WRONG_PASSWORD', `wrong password for set ${d.id}`, { hint: 'Give the password the backups were made with (STRATA_PASSWORD, STRATA_PASSWORD_FILE, the config, or the prompt).' });
  }
  if (c === 'tampered') {
    throw new StrataError('TAMPERED', reason ?? `the descriptor of set ${d.id} has been modified`, { hint: 'Do not trust this set; restore from another one (strata list).' });
  }
}
