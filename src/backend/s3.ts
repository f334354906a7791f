/**
 * backend/s3: a Backend on AWS S3 or an S3-compatible provider (Ceph RGW, MinIO, Wasabi, Backblaze,
 * Scaleway, OVH, …) through the AWS SDK v3.
 *
 * Why it is built the way it is:
 * - Multipart is done here, not by lib-storage, so that every part carries a Content-MD5 (the
 *   provider rejects a part damaged in transit) while memory stays bounded: at most
 *   `partSize × (queueSize + 1)` bytes are held. Bodies up to one part go in one PutObject.
 * - The object's SHA-256 is stored as user metadata (`x-amz-meta-sha256`) because providers
 *   neither check nor return `x-amz-checksum-sha256` consistently (Ceph ignores it). Metadata must be
 *   sent when the upload starts, so without a given `sha256` a multipart body is read twice.
 * - Tags are set with PutObjectTagging after the upload completes: Ceph silently drops tags sent
 *   with CreateMultipartUpload. A provider without tagging (NotImplemented) gets one warning.
 * - The storage class of an object is PutOptions.storageClass, else the class configured for the
 *   put's `tier` tag (`storageClass.<tier>=` on the destination; never for a `.strata.json`
 *   descriptor, which every command reads, nor for a `kind=meta` object), else the destination's default.
 * - A put (without overwrite) of the bytes a key already holds — same size and stored SHA-256 —
 *   replaces nothing and resolves, setting the put's tags on the object: a retried upload whose
 *   first reply was lost must not end as ALREADY_EXISTS, nor leave the object untagged.
 * - Overwrite refusal is a HeadObject before the upload. S3 has no portable conditional put
 *   (If-None-Match is recent on AWS and missing elsewhere), so two writers racing on one new key can
 *   both succeed; strata avoids this by giving every set unique keys and holding a repository lock.
 * - Multipart uploads are invisible until completed; any failure aborts them, so a failed source
 *   stream leaves nothing under the key.
 * - The SDK's own retries are off by default (maxAttempts 1): a streamed body cannot be replayed by
 *   the SDK, and RetryingBackend re-opens the BodySource instead.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { RESTORE_DAYS, coldStateOf, tierFor, type ColdState, type RetrievalTier } from '../core/cold.js';
import { StrataError } from '../errors.js';
import { errorName, isNotImplemented, mapS3Error, statusOf } from './s3-errors.js';
import { checkSha256, hashStream, hashingSource, sha256Hex } from '../io/hash.js';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions, ThawResult } from './backend.js';
import { validateKey } from './keys.js';
import type { LifecycleConfiguration } from '../core/cloud/lifecycle-rules.js';

export { mapS3Error } from './s3-errors.js';

/** S3_MIN_PART_SIZE is the smallest part S3 accepts (except the last one). */
export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;

/** S3BackendOptions configure one bucket and key prefix. */
export interface S3BackendOptions {
  bucket: string;
  /** Key prefix ('' or 'a/b'); objects are stored under `prefix/key`. */
  prefix?: string;
  /** Provider endpoint, e.g. https://s3.eu-central-003.backblazeb2.com; omitted: AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (host/bucket/key) instead of virtual-host (bucket.host/key). */
  forcePathStyle?: boolean;
  /** Explicit keys; omitted: the standard AWS chain (env, shared files, SSO, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Profile in ~/.aws/config and ~/.aws/credentials. */
  profile?: string;
  /** Default storage class; PutOptions.storageClass and storageClasses win. */
  storageClass?: string;
  /** Storage class per tier, chosen by the `tier` tag of a put (core/destination storageClassFor). */
  storageClasses?: Record<string, string>;
  /** Bytes per multipart part (default 16 MiB, at least 5 MiB); bodies up to this size use one PutObject. */
  partSize?: number;
  /** Parts uploaded in parallel per object (default 4). */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (default 1000). */
  pageSize?: number;
  /** Attempts per request inside the SDK (default 1: RetryingBackend retries whole operations). */
  maxAttempts?: number;
  /** Per-request socket timeout (default 120 s). */
  requestTimeoutMs?: number;
  /** Receives one-time warnings (e.g. the provider has no object tagging). */
  onWarning?: (message: string) => void;
  /** Printed description (must be redacted); default s3://bucket/prefix. */
  description?: string;
  /** Environment used for region defaults (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Retrieval tier of restore requests for archived objects when thaw() is given none (default Standard). */
  retrievalTier?: RetrievalTier;
}


/** S3Backend stores objects in an S3 bucket under a key prefix. */
export class S3Backend implements Backend {
  readonly description: string;
  readonly bucket: string;
  readonly client: S3Client;
  /** S3 has archive storage classes (GLACIER, DEEP_ARCHIVE): see coldState and thaw. */
  readonly archives = true;
  private readonly root: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly pageSize: number;
  private tagging: boolean | undefined;
  /** The provider answered RestoreObject with 501/405: it keeps archive classes as labels only. */
  private noRestore = false;

  constructor(private readonly options: S3BackendOptions) {
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').split('/').filter((s) => s !== '').join('/');
    this.root = prefix === '' ? '' : `${prefix}/`;
    this.partSize = Math.max(S3_MIN_PART_SIZE, options.partSize ?? 16 * 1024 * 1024);
    this.queueSize = Math.max(1, options.queueSize ?? 4);
    this.pageSize = Math.max(1, Math.min(1000, options.pageSize ?? 1000));
    this.description = options.description ?? `s3://${options.bucket}/${prefix}`;
    const env = options.env ?? process.env;
    const region = options.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'] ?? (options.endpoint !== undefined ? 'us-east-1' : undefined);
    const config: S3ClientConfig = {
      maxAttempts: options.maxAttempts ?? 1,
      followRegionRedirects: true,
      // Newer SDKs add CRC32 trailers by default (aws-chunked encoding) that older S3-compatible
      // servers reject; strata sends Content-MD5 itself.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 15_000,
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        httpAgent: { keepAlive: true, maxSockets: 64 },
        httpsAgent: { keepAlive: true, maxSockets: 64 },
      },
    };
    if (region !== undefined) config.region = region;
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
    if (options.credentials !== undefined) config.credentials = options.credentials;
    if (options.profile !== undefined) config.profile = options.profile;
    // strata pins the SDK (later releases need Node 22), so the SDK's warning about those future
    // releases tells the user nothing they can act on; it is silenced unless set either way.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    this.client = new S3Client(config);
  }

  private objectKey(key: string): string {
    return this.root + validateKey(key);
  }

  /** createBucket creates the bucket if it does not exist yet (tests, first-time setup). */
  async createBucket(): Promise<void> {
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      const name = errorName(e);
      if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
      throw this.mapError(e, `creating bucket ${this.bucket}`);
    }
  }

  /** rootExists tells whether the bucket exists (a prefix needs no creating). strata never creates
   * a bucket: a missing one is a wrong name, region or endpoint. */
  async rootExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (e) {
      const name = errorName(e);
      if (name === 'NotFound' || name === 'NoSuchBucket' || statusOf(e) === 404) return false;
      throw this.mapError(e, `opening bucket ${this.bucket}`);
    }
  }

  /** supportsTagging is true/false once the provider answered a tagging request, undefined before. */
  get supportsTagging(): boolean | undefined {
    return this.tagging;
  }

  async put(key: string, body: BodySource, options: PutOptions = {}): Promise<ObjectInfo> {
    const k = this.objectKey(key);
    const signal = options.signal;
    if (options.overwrite !== true) {
      const existing = await this.head(k, key);
      if (existing !== undefined) {
        const same = await this.sameBytes(existing, key, body, options);
        if (same === undefined) throw new StrataError('ALREADY_EXISTS', `${key} already exists on ${this.description}`);
        return same;
      }
    }
    // Descriptors are read by every command (the catalog), and meta objects (kind=meta: the manifest,
    // its recovery files, RESTORE.txt) by list, browse and restore planning: a tier's archive class
    // (GLACIER needs a restore request before a GET) applies to data objects only.
    const tier = key.endsWith('.strata.json') || options.tags?.['kind'] === 'meta' ? undefined : options.tags?.['tier'];
    const storageClass = (options.storageClass ?? (tier === undefined ? undefined : this.options.storageClasses?.[tier]) ?? this.options.storageClass) as StorageClass | undefined;
    let sha256: string;
    if (body.size <= this.partSize) {
      const buf = await readExactly(body.open(), body.size, key, signal);
      sha256 = sha256Hex(buf);
      checkSha256(key, sha256, options.sha256);
      try {
        await this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: k,
            Body: buf,
            ContentLength: buf.length,
            ContentMD5: md5(buf),
            ContentType: 'application/octet-stream',
            Metadata: { sha256 },
            StorageClass: storageClass,
          }),
          { abortSignal: signal },
        );
      } catch (e) {
        throw this.mapError(e, `uploading ${key}`);
      }
    } else {
      sha256 = options.sha256 ?? (await hashSource(body, key, signal));
      await this.multipart(k, key, body, sha256, storageClass, signal);
    }
    const info: ObjectInfo = { key, size: body.size, sha256 };
    if (options.tags !== undefined && Object.keys(options.tags).length > 0) {
      if (await this.setTags(k, key, options.tags, signal)) info.tags = { ...options.tags };
    }
    return info;
  }

  private async multipart(k: string, key: string, body: BodySource, sha256: string, storageClass: StorageClass | undefined, signal?: AbortSignal): Promise<void> {
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k, ContentType: 'application/octet-stream', Metadata: { sha256 }, StorageClass: storageClass }),
        { abortSignal: signal },
      );
      uploadId = created.UploadId;
      if (uploadId === undefined) throw new StrataError('BACKEND', `${this.description}: no upload id for ${key}`, { retriable: true });
      const id = uploadId;
      const parts: CompletedPart[] = [];
      // p-limit keeps queueSize parts in flight; waiting for the part queueSize places back before
      // filling another keeps memory at partSize × (queueSize + 1).
      const limit = pLimit(this.queueSize);
      const sent: Promise<void>[] = [];
      let failure: Error | undefined;
      const send = (buf: Buffer, partNumber: number): void => {
        const upload = async (): Promise<void> => {
          if (failure !== undefined) return;
          const out = await this.client.send(
            new UploadPartCommand({ Bucket: this.bucket, Key: k, UploadId: id, PartNumber: partNumber, Body: buf, ContentLength: buf.length, ContentMD5: md5(buf) }),
            { abortSignal: signal },
          );
          parts.push({ PartNumber: partNumber, ETag: out.ETag });
        };
        sent.push(
          limit(upload).catch((e: unknown) => {
            failure ??= e instanceof Error ? e : new Error(String(e));
          }),
        );
      };
      let partNumber = 0;
      // Chunks are copied straight into a part-sized buffer, so memory is partSize per buffered part.
      let part = Buffer.allocUnsafe(this.partSize);
      let fill = 0;
      const flush = async (): Promise<void> => {
        await sent[sent.length - this.queueSize];
        if (failure !== undefined) throw failure;
        send(fill === part.length ? part : part.subarray(0, fill), ++partNumber);
        part = Buffer.allocUnsafe(this.partSize);
        fill = 0;
      };
      // The counter hashes the bytes and fails when the source gives more or fewer than announced.
      const counter = hashingSource(body, `${key}: source`);
      try {
        for await (const chunk of counter as AsyncIterable<Buffer>) {
          let off = 0;
          while (off < chunk.length) {
            const n = chunk.copy(part, fill, off);
            off += n;
            fill += n;
            if (fill === part.length) await flush();
          }
          if (failure !== undefined) throw failure;
        }
      } finally {
        counter.destroy();
      }
      if (fill > 0) await flush();
      await Promise.all(sent);
      if (failure !== undefined) throw failure;
      checkSha256(key, counter.sha256(), sha256);
      parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: id, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
    } catch (e) {
      if (uploadId !== undefined) {
        await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId })).catch(() => undefined);
      }
      throw this.mapError(e, `uploading ${key}`);
    }
  }

  async retag(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    return this.setTags(this.objectKey(key), key, tags, signal, false);
  }

  /** setTags tags an uploaded object; returns false when the provider has no tagging. On another
   * failure the object is removed (unless `removeOnFailure` is false: an object this put did not
   * upload), so that a rejected put leaves nothing. */
  private async setTags(k: string, key: string, tags: Record<string, string>, signal?: AbortSignal, removeOnFailure = true): Promise<boolean> {
    if (this.tagging === false) return false;
    try {
      await this.client.send(
        new PutObjectTaggingCommand({ Bucket: this.bucket, Key: k, Tagging: { TagSet: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } }),
        { abortSignal: signal },
      );
      this.tagging = true;
      return true;
    } catch (e) {
      if (isNotImplemented(e)) {
        this.noTagging();
        return false;
      }
      if (removeOnFailure) await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k })).catch(() => undefined);
      throw this.mapError(e, `tagging ${key}`);
    }
  }

  private noTagging(): void {
    if (this.tagging === false) return;
    this.tagging = false;
    this.options.onWarning?.(`${this.description}: the provider does not support object tags; lifecycle rules that use tags will not apply (uploads continue without tags)`);
  }

  /** head returns the size and stored SHA-256 of an object, or undefined when it does not exist. */
  private async head(k: string, key: string): Promise<{ size: number; sha256: string | undefined } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      return { size: head.ContentLength ?? 0, sha256: storedSha256(head.Metadata) };
    } catch (e) {
      const err = this.mapError(e, `checking ${key}`);
      if (err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * sameBytes handles a put (without overwrite) onto a key that already exists: when the object
   * holds exactly the body's bytes — same size, and a stored SHA-256 equal to `options.sha256` or to
   * the source's — nothing needs replacing (typically an earlier attempt of this very put stored it
   * and its reply was lost), so the put's tags are set on it and the put resolves. Otherwise it
   * returns undefined (ALREADY_EXISTS). A tagging failure here leaves the object as it was.
   */
  private async sameBytes(existing: { size: number; sha256: string | undefined }, key: string, body: BodySource, options: PutOptions): Promise<ObjectInfo | undefined> {
    if (existing.sha256 === undefined || existing.size !== body.size) return undefined;
    const sha256 = options.sha256 ?? (await hashSource(body, key, options.signal));
    if (sha256 !== existing.sha256) return undefined;
    const info: ObjectInfo = { key, size: body.size, sha256 };
    if (options.tags !== undefined && Object.keys(options.tags).length > 0) {
      if (await this.setTags(this.objectKey(key), key, options.tags, options.signal, false)) info.tags = { ...options.tags };
    }
    return info;
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const k = this.objectKey(key);
    if (range !== undefined && range.length !== undefined && range.length <= 0) {
      await this.stat(key);
      return Readable.from([]);
    }
    const header = range === undefined ? undefined : `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k, Range: header }));
      if (out.Body === undefined) return Readable.from([]);
      return out.Body as Readable;
    } catch (e) {
      // 416: the range starts at or past the end of an existing object.
      if (range !== undefined && (errorName(e) === 'InvalidRange' || statusOf(e) === 416)) return Readable.from([]);
      throw this.mapError(e, `reading ${key}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo> {
    const k = this.objectKey(key);
    let info: ObjectInfo;
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      info = { key, size: head.ContentLength ?? 0 };
      const sha = storedSha256(head.Metadata);
      if (sha !== undefined) info.sha256 = sha;
    } catch (e) {
      throw this.mapError(e, `reading ${key}`);
    }
    if (this.tagging !== false) {
      try {
        const out = await this.client.send(new GetObjectTaggingCommand({ Bucket: this.bucket, Key: k }));
        this.tagging = true;
        info.tags = Object.fromEntries((out.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
      } catch (e) {
        if (isNotImplemented(e)) this.noTagging();
        else throw this.mapError(e, `reading the tags of ${key}`);
      }
    }
    return info;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root + prefix, MaxKeys: this.pageSize, ContinuationToken: token }));
      } catch (e) {
        throw this.mapError(e, `listing ${prefix === '' ? this.description : prefix}`);
      }
      for (const obj of page.Contents ?? []) {
        const full = obj.Key;
        if (full === undefined || !full.startsWith(this.root)) continue;
        yield { key: full.slice(this.root.length), size: obj.Size ?? 0 };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** coldState reads an object's storage class and restore status (HeadObject: x-amz-storage-class, x-amz-restore). */
  async coldState(key: string): Promise<ColdState> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      return coldStateOf(head.StorageClass, head.Restore);
    } catch (e) {
      throw this.mapError(e, `checking the storage class of ${key}`);
    }
  }

  /**
   * thaw asks for a temporary readable copy of an archived object (RestoreObject, kept
   * RESTORE_DAYS days). AWS answers 202 for a new request, 200 when a copy is already readable (its
   * expiry is extended) and 409 RestoreAlreadyInProgress while one is under way. A provider without
   * RestoreObject (Ceph RGW answers 501 for its non-cloud classes) serves those objects directly:
   * 'unsupported', and it is not asked again.
   */
  async thaw(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult> {
    const asked = tier ?? this.options.retrievalTier ?? 'Standard';
    const used = storageClass === undefined ? asked : tierFor(storageClass, asked);
    if (this.noRestore) return { outcome: 'unsupported', tier: used };
    try {
      const out = await this.client.send(
        new RestoreObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key), RestoreRequest: { Days: RESTORE_DAYS, GlacierJobParameters: { Tier: used } } }),
      );
      return { outcome: out.$metadata.httpStatusCode === 200 ? 'restored' : 'requested', tier: used };
    } catch (e) {
      if (errorName(e) === 'RestoreAlreadyInProgress' || statusOf(e) === 409) return { outcome: 'in-progress', tier: used };
      // A provider that stores the class but has no restore (Ceph RGW, 501) serves such objects directly.
      if (isNotImplemented(e)) {
        this.noRestore = true;
        return { outcome: 'unsupported', tier: used };
      }
      throw this.mapError(e, `requesting the restore of ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    const k = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k }));
    } catch (e) {
      const err = this.mapError(e, `deleting ${key}`);
      if (err.code !== 'NOT_FOUND') throw err;
    }
  }

  /**
   * setLifecycle replaces the bucket's lifecycle configuration (PutBucketLifecycleConfiguration):
   * every rule of the bucket, not only strata's. Used by `strata cloud lifecycle --apply`.
   */
  async setLifecycle(config: LifecycleConfiguration): Promise<void> {
    try {
      await this.client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: this.bucket, LifecycleConfiguration: { Rules: config.Rules } }));
    } catch (e) {
      throw this.mapError(e, `setting the lifecycle rules of bucket ${this.bucket}`);
    }
  }

  /** lifecycleRuleIds lists the IDs of the bucket's lifecycle rules ([] when it has none). */
  async lifecycleRuleIds(): Promise<string[]> {
    try {
      const out = await this.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: this.bucket }));
      return (out.Rules ?? []).map((r) => r.ID ?? '');
    } catch (e) {
      if (errorName(e) === 'NoSuchLifecycleConfiguration') return [];
      throw this.mapError(e, `reading the lifecycle rules of bucket ${this.bucket}`);
    }
  }

  /** storageClassOf is an object's storage class as HeadObject reports it (STANDARD when absent). */
  async storageClassOf(key: string): Promise<string> {
    const k = this.objectKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k }));
      return out.StorageClass ?? 'STANDARD';
    } catch (e) {
      throw this.mapError(e, `reading ${key}`);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** mapError turns an SDK or network failure into a StrataError (AUTH, NOT_FOUND, retriable BACKEND). */
  private mapError(e: unknown, action: string): StrataError {
    return mapS3Error(e, `${action} on ${this.description}`);
  }
}

function md5(buf: Buffer): string {
  return createHash('md5').update(buf).digest('base64');
}

/** readExactly reads a small body into memory, failing if it is not exactly `size` bytes. */
async function readExactly(stream: Readable, size: number, key: string, signal?: AbortSignal): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let n = 0;
  try {
    for await (const chunk of stream) {
      if (signal?.aborted === true) throw new StrataError('CANCELLED', `uploading ${key}: cancelled`);
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (n + b.length > size) throw new StrataError('CHECKSUM', `${key}: source gave more than the announced ${size} bytes`);
      b.copy(buf, n);
      n += b.length;
    }
  } finally {
    stream.destroy();
  }
  if (n !== size) throw new StrataError('CHECKSUM', `${key}: source gave ${n} bytes, expected ${size}`);
  return buf;
}

/** storedSha256 is the SHA-256 strata stored as user metadata with an object, when it is one. */
function storedSha256(metadata: Record<string, string> | undefined): string | undefined {
  const sha = metadata?.['sha256'];
  return sha !== undefined && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
}

/** hashSource reads a body once to learn its SHA-256 (needed before a multipart upload starts). */
function hashSource(body: BodySource, key: string, signal?: AbortSignal): Promise<string> {
  return hashStream(hashingSource(body, `${key}: source`), `reading the source of ${key}`, false, signal);
}
