/**
 * core/cold: the rules of archive storage classes (S3 GLACIER / DEEP_ARCHIVE), pure. An object in
 * such a class cannot be read until a restore request (RestoreObject) has made a temporary copy;
 * GLACIER_IR, STANDARD_IA and the other classes read directly. The retrieval tier decides the wait
 * and the fee; the waits are AWS's documented typical times ("Understanding archive retrieval
 * options", Amazon S3 User Guide).
 */
import { StrataError } from '../errors.js';

/** RETRIEVAL_TIERS are the retrieval options of RestoreObject, fastest (and dearest) first. */
export const RETRIEVAL_TIERS = ['Expedited', 'Standard', 'Bulk'] as const;
export type RetrievalTier = (typeof RETRIEVAL_TIERS)[number];

/** DEFAULT_RETRIEVAL_TIER is what strata asks for without --retrieval-tier or retrievalTier. */
export const DEFAULT_RETRIEVAL_TIER: RetrievalTier = 'Standard';

/** RESTORE_DAYS is how long a restored copy stays readable (billed meanwhile as S3 Standard). */
export const RESTORE_DAYS = 7;

/** ARCHIVE_CLASSES are the storage classes whose objects need a restore before a GET. */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** isArchiveClass tells whether objects of a storage class need a restore before they can be read. */
export function isArchiveClass(storageClass: string | undefined): boolean {
  return storageClass !== undefined && ARCHIVE_CLASSES.has(storageClass);
}

/** parseRetrievalTier reads a tier name (case-insensitive); `where` names the flag or key for the message. */
export function parseRetrievalTier(text: string, where: string): RetrievalTier {
  const t = RETRIEVAL_TIERS.find((r) => r.toLowerCase() === text.trim().toLowerCase());
  if (t === undefined) {
    throw new StrataError('USAGE', `${where}: ${JSON.stringify(text)} is not a retrieval tier`, {
      hint: `Use ${RETRIEVAL_TIERS.join(', ')} (default ${DEFAULT_RETRIEVAL_TIER}; Bulk is cheapest and slowest, Expedited works for GLACIER only).`,
    });
  }
  return t;
}

/**
 * tierFor is the tier actually requested for an object of a class: DEEP_ARCHIVE offers no
 * Expedited retrieval (AWS refuses it), so Standard is asked for instead.
 */
export function tierFor(storageClass: string, tier: RetrievalTier): RetrievalTier {
  return storageClass === 'DEEP_ARCHIVE' && tier === 'Expedited' ? 'Standard' : tier;
}

/** expectedWait is AWS's documented typical time for a restore of a class at a tier. */
export function expectedWait(storageClass: string, tier: RetrievalTier): string {
  if (storageClass === 'DEEP_ARCHIVE') return tier === 'Bulk' ? 'within 48 hours' : 'within 12 hours';
  switch (tier) {
    case 'Expedited':
      return '1–5 minutes (objects under 250 MB)';
    case 'Standard':
      return '3–5 hours';
    case 'Bulk':
      return '5–12 hours';
  }
}

/** ColdState is where an object stands with respect to archive storage. */
export interface ColdState {
  /** The object's storage class as the provider names it ('STANDARD' when it names none). */
  storageClass: string;
  /**
   * hot: readable, no restore needed (not an archive class); archived: needs a restore request;
   * restoring: a restore is under way (x-amz-restore ongoing-request="true"); restored: a
   * temporary copy is readable until `expiry`.
   */
  state: 'hot' | 'archived' | 'restoring' | 'restored';
  expiry?: string;
}

/** coldStateOf reads an object's storage class and S3's x-amz-restore (`ongoing-request="false", expiry-date="…"`) for an archive-class object. */
export function coldStateOf(storageClass: string | undefined, restore: string | undefined): ColdState {
  const cls = storageClass ?? 'STANDARD';
  if (!isArchiveClass(cls)) return { storageClass: cls, state: 'hot' };
  if (restore === undefined || restore === '') return { storageClass: cls, state: 'archived' };
  if (/ongoing-request\s*=\s*"true"/i.test(restore)) return { storageClass: cls, state: 'restoring' };
  const expiry = /expiry-date\s*=\s*"([^"]*)"/i.exec(restore)?.[1];
  return expiry === undefined ? { storageClass: cls, state: 'restored' } : { storageClass: cls, state: 'restored', expiry };
}
