/**
 * backend: where sets are stored. A Backend is a flat key/value store of immutable objects with
 * '/'-separated keys; local folders, S3, WebDAV and rclone remotes implement it, and wrappers
 * (retry, concurrency limit, logging, fault injection) implement it around another Backend.
 *
 * The contract every implementation MUST keep (test/backend/conformance.ts checks each point):
 * - Keys are relative, '/'-separated, without empty, '.' or '..' segments, and never start with '/'.
 * - put() makes an object visible atomically: after it resolves the whole object is there; if it
 *   rejects (the source stream failed, the checksum did not match, the connection dropped) no
 *   object, partial or whole, is visible under the key afterwards.
 * - put() refuses to replace an existing object (ALREADY_EXISTS) unless `overwrite` is true.
 *   Storing the very bytes a key already holds replaces nothing, and that is what a retried put
 *   meets when an earlier attempt stored the object but its reply was lost: RetryingBackend then
 *   resolves the retry when the object has the body's size and SHA-256 (stat()'s hash where the
 *   backend keeps one, else the object read back and hashed; expected: `sha256`, else the source
 *   hashed), and S3 resolves any such put itself from its stored SHA-256, setting the put's `tags`
 *   on the object so that it ends tagged like any other. Other bytes keep ALREADY_EXISTS; a put
 *   that meets the same bytes and still fails (tagging) leaves the object as it was.
 * - put() resolves with the key, size and SHA-256 of the bytes it stored.
 * - put() with `sha256` set verifies the bytes it stored against it and rejects with CHECKSUM on a
 *   mismatch (leaving nothing visible). The source may be opened more than once (for hashing or
 *   retries); each open must yield the same bytes.
 * - get(), stat() and a range read of a missing key reject with NOT_FOUND; delete() of a missing
 *   key resolves (delete is idempotent).
 * - get() with a range returns exactly the bytes [offset, offset+length) that exist; a range that
 *   starts at or past the end yields an empty stream; a range that runs past the end is cut at the end.
 * - list(prefix) yields every object whose key starts with `prefix` exactly once, in any order,
 *   however many there are (implementations page internally).
 * - Wrong credentials reject with AUTH; transient failures reject with a StrataError whose
 *   `retriable` is true, so that the retry wrapper knows what to try again.
 */
import type { Readable } from 'node:stream';
import type { BodySource } from '../io/hash.js';
import type { ColdState, RetrievalTier } from '../core/cold.js';

export type { ColdState, RetrievalTier } from '../core/cold.js';

/** ThawResult is the answer to a restore request for an archived object, and the tier asked for. */
export interface ThawResult {
  /** requested: a restore has begun; in-progress: one was already under way (not requested again); restored: a copy is already readable;
   * unsupported: the provider has no restore (it keeps the class as a label and serves the object directly). */
  outcome: 'requested' | 'in-progress' | 'restored' | 'unsupported';
  tier: RetrievalTier;
}

/** ObjectInfo describes one stored object. */
export interface ObjectInfo {
  key: string;
  size: number;
  /** SHA-256 (hex) when the backend stores or can compute it without reading the data. */
  sha256?: string;
  /** Tags as the backend reports them: `{}` for an untagged object; absent where the backend keeps
   * no tags (only S3 keeps them, and not every S3-compatible provider). */
  tags?: Record<string, string>;
}

/** BodySource is a re-openable byte source of known size (io/hash: fileSource, bufferSource). */
export type { BodySource } from '../io/hash.js';

/** PutOptions qualify one upload. */
export interface PutOptions {
  /** Expected SHA-256 (hex) of the bytes; the backend verifies it. */
  sha256?: string;
  /** Replace an existing object (default false: ALREADY_EXISTS). */
  overwrite?: boolean;
  /** Tags for lifecycle rules (S3: tier, type, set); others ignore them. */
  tags?: Record<string, string>;
  /** Storage class hint (S3). */
  storageClass?: string;
  signal?: AbortSignal;
}

/** ByteRange selects part of an object. */
export interface ByteRange {
  offset: number;
  /** Omitted: to the end. */
  length?: number;
}

/** Backend is the storage interface every destination implements; see the contract above. */
export interface Backend {
  /** A description safe to print (credentials redacted). */
  readonly description: string;
  put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo>;
  get(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /**
   * localPath returns the path of a stored object as a local file that can be read in place, when
   * the backend keeps objects as local files (the local backend); wrappers pass it through.
   */
  localPath?(key: string): string | undefined;
  /**
   * removeFolder removes the folder of a prefix (`a/b/`) once nothing is stored under it, on
   * backends that keep folders of their own that outlive their last object (WebDAV collections,
   * rclone remotes with directories). It resolves when the folder is missing, and leaves a folder
   * that still holds anything. Meant for a prefix no one else writes to (check-destination's probe
   * folder). Backends without such folders (S3) or whose delete() removes emptied folders (local)
   * omit it; wrappers pass it through.
   */
  removeFolder?(prefix: string): Promise<void>;
  /**
   * rootExists tells whether the destination itself exists: the local folder, the S3 bucket, the
   * WebDAV collection, the rclone remote path. strata never creates a missing one on its own (an
   * unmounted disk would otherwise fill the internal one): commands check this first.
   */
  rootExists?(): Promise<boolean>;
  /** createRoot creates the destination (`strata init --dest`): a folder, a collection or a remote
   * path with its parents. S3 omits it: a bucket is never created by strata. */
  createRoot?(): Promise<void>;
  /**
   * retag replaces the tags of a stored object (a promoted set changes tier), leaving its bytes
   * alone. Resolves true when the object now carries exactly `tags`, false where no tags are kept
   * (a provider without object tagging); rejects NOT_FOUND for a missing key. Backends that keep no
   * tags at all (local, WebDAV, rclone) omit it; wrappers pass it through.
   */
  retag?(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean>;
  /** True where objects may be in archive storage (S3): then coldState and thaw are worth asking. */
  readonly archives?: boolean;
  /**
   * coldState tells whether an object is in archive storage (S3 GLACIER / DEEP_ARCHIVE) and where
   * its restore stands; rejects NOT_FOUND for a missing key. Only S3 has archive storage: other
   * backends omit it, and wrappers answer `hot` for them.
   */
  coldState?(key: string): Promise<ColdState>;
  /**
   * thaw requests a temporary readable copy of an archived object (S3 RestoreObject) at a
   * retrieval tier (default: the destination's), for an object of `storageClass` where known
   * (DEEP_ARCHIVE has no Expedited tier: Standard is asked for). Only S3 implements it.
   */
  thaw?(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult>;
  /** Releases connections; the backend is not used afterwards. */
  close(): Promise<void>;
}

/** validateKey throws UNSAFE_PATH for a key that breaks the key rules above. */
export { validateKey } from './keys.js';
