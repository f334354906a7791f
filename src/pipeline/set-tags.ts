/**
 * pipeline/set-tags: the tags of a whole set's objects on a destination that keeps tags (S3):
 * bringing an older set's tags up to date (the `kind` tag, core/keys objectKind) and marking a set
 * for deletion by the bucket's lifecycle rule (retention.deleteBy: tag).
 *
 * Order: the descriptor is retagged last. A run cut midway leaves the descriptor as it was, so the
 * next run sees the set as before and does the whole set again (retagging is idempotent).
 */
import type { Backend } from '../backend/backend.js';
import { EXPIRE_TAG, KIND_TAG } from '../core/cloud/lifecycle-rules.js';
import type { Descriptor } from '../core/descriptor.js';
import { descriptorKey, isSetObjectKey, objectTags, pendingKey, setObjectKey } from '../core/keys.js';
import { StrataError } from '../errors.js';

/**
 * setKeys lists the keys of set `id` on the destination (its folder's objects that strata names),
 * descriptor last. Markers (`.pending`, `.promoting`) are not the set's: their tags are their own
 * (a marker strata would have deleted carries the expiry tag, ExpireByTagBackend).
 */
export async function setKeys(backend: Backend, id: string): Promise<string[]> {
  const keys: string[] = [];
  const markers = new Set([descriptorKey(id), pendingKey(id), setObjectKey(id, `${id}.promoting`)]);
  for await (const o of backend.list(`${id}/`)) if (isSetObjectKey(id, o.key) && !markers.has(o.key)) keys.push(o.key);
  keys.sort();
  keys.push(descriptorKey(id));
  return keys;
}

/**
 * retagSet gives every object of set `d` its tags (objectTags) plus `extra`, descriptor last.
 * Resolves with the number of objects retagged, or null when the destination keeps no tags.
 */
export async function retagSet(backend: Backend, d: Pick<Descriptor, 'id' | 'tier' | 'type'>, extra: Record<string, string>, signal: AbortSignal): Promise<number | null> {
  if (backend.retag === undefined) return null;
  let n = 0;
  for (const key of await setKeys(backend, d.id)) {
    if (signal.aborted) throw new StrataError('CANCELLED', `retagging set ${d.id} cancelled`);
    if (!(await backend.retag(key, { ...objectTags(d, key), ...extra }, signal).catch(notFoundIsDone))) {
      if (n === 0) return null;
    } else n++;
  }
  return n;
}

/** A key listed a moment ago and gone now (a lifecycle rule deleted it) needs no tags. */
function notFoundIsDone(e: unknown): boolean {
  if (e instanceof StrataError && e.code === 'NOT_FOUND') return true;
  throw e;
}

/** isTaggedForExpiry tells whether a set's descriptor carries the expiry tag (its whole set was tagged: the descriptor goes last). */
export function isTaggedForExpiry(tags: Record<string, string> | undefined): boolean {
  return tags?.[EXPIRE_TAG.Key] === EXPIRE_TAG.Value;
}

/** lacksKind tells whether a descriptor's tags (as stat() reports them) predate the kind tag; false where no tags are kept. */
export function lacksKind(tags: Record<string, string> | undefined): boolean {
  return tags !== undefined && tags[KIND_TAG] === undefined;
}
