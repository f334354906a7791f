/**
 * pipeline/set-check: checking a set's descriptor against the password, telling a wrong password
 * apart from a descriptor whose password check was edited. core/descriptor already recognises an
 * edited check value when the rest is intact (the HMAC over the recomputed value verifies); when
 * more was edited, the other sets of the destination decide: a destination holds sets of one
 * password, so when another set accepts it, the password is right and this descriptor was edited.
 */
import { checkDescriptor, checkDescriptorAsync, type Descriptor, type DescriptorCheck } from '../core/descriptor.js';

/** SetCheck is a descriptor check with, for a tampered one, the reason in words. */
export interface SetCheck {
  check: DescriptorCheck;
  reason?: string;
}

/** MAX_WITNESSES bounds the scrypt runs spent on other sets (one per distinct KDF salt). */
const MAX_WITNESSES = 3;

function witnesses(d: Descriptor, others: readonly Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  const out: Descriptor[] = [];
  // Sets sharing d's KDF parameters first (their keys are cached already), then newest first.
  const sameKdf = (o: Descriptor): boolean => o.kdf.salt === d.kdf.salt && o.kdf.N === d.kdf.N && o.kdf.r === d.kdf.r && o.kdf.p === d.kdf.p;
  const ordered = [...others].filter((o) => o.id !== d.id).sort((a, b) => Number(sameKdf(b)) - Number(sameKdf(a)) || Date.parse(b.created) - Date.parse(a.created));
  for (const o of ordered) {
    const k = `${o.kdf.N}:${o.kdf.r}:${o.kdf.p}:${o.kdf.salt}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(o);
    if (out.length >= MAX_WITNESSES) break;
  }
  return out;
}

function verdict(d: Descriptor, c: DescriptorCheck, accepted: Descriptor | undefined): SetCheck {
  if (c === 'tampered') return { check: c, reason: `the descriptor of set ${d.id} has been modified (its HMAC does not match)` };
  if (c === 'wrong-password' && accepted !== undefined) {
    return { check: 'tampered', reason: `the descriptor of set ${d.id} has been modified: its password check does not match, but set ${accepted.id} of the same destination accepts this password` };
  }
  return { check: c };
}

/** checkSet checks one descriptor; a wrong-password answer is confirmed against the other sets. */
export function checkSet(d: Descriptor, password: string, others: readonly Descriptor[] = []): SetCheck {
  const c = checkDescriptor(d, password);
  const accepted = c === 'wrong-password' ? witnesses(d, others).find((o) => checkDescriptor(o, password) !== 'wrong-password') : undefined;
  return verdict(d, c, accepted);
}

/** checkSetAsync is checkSet with scrypt on the thread pool. */
export async function checkSetAsync(d: Descriptor, password: string, others: readonly Descriptor[] = []): Promise<SetCheck> {
  const c = await checkDescriptorAsync(d, password);
  let accepted: Descriptor | undefined;
  if (c === 'wrong-password') {
    for (const o of witnesses(d, others)) {
      if ((await checkDescriptorAsync(o, password)) !== 'wrong-password') {
        accepted = o;
        break;
      }
    }
  }
  return verdict(d, c, accepted);
}
