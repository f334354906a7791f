/**
 * backend/forwarding: ForwardingBackend hands every call, capability included (archives,
 * createRoot, coldState, thaw, retag, …), to the backend it wraps. A wrapper that changes one call
 * extends it and overrides that call, so that it cannot hide what the inner backend can do.
 */
import type { Readable } from 'node:stream';
import { StrataError } from '../errors.js';
import type { Backend, BodySource, ByteRange, ColdState, ObjectInfo, PutOptions, RetrievalTier, ThawResult } from './backend.js';

/** coldStateOf asks the inner backend for an object's archive state; backends without archive storage hold every object hot. */
export function coldStateOf(inner: Backend, key: string): Promise<ColdState> {
  return inner.coldState === undefined ? Promise.resolve({ storageClass: 'STANDARD', state: 'hot' }) : inner.coldState(key);
}

/** thawOf passes a restore request on; a backend without archive storage never has an object to restore. */
export function thawOf(inner: Backend, key: string, tier: RetrievalTier | undefined, storageClass: string | undefined): Promise<ThawResult> {
  if (inner.thaw === undefined) return Promise.reject(new StrataError('INTERNAL', `${inner.description} keeps no archive storage: nothing to restore for ${key}`));
  return inner.thaw(key, tier, storageClass);
}

/** ForwardingBackend passes every call on to `inner` unchanged. */
export class ForwardingBackend implements Backend {
  readonly description: string;

  constructor(protected readonly inner: Backend) {
    this.description = inner.description;
  }

  put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    return this.inner.put(key, body, options);
  }

  get(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.get(key, range);
  }

  stat(key: string): Promise<ObjectInfo> {
    return this.inner.stat(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  async removeFolder(prefix: string): Promise<void> {
    return this.inner.removeFolder?.(prefix);
  }

  async retag(key: string, tags: Record<string, string>, signal?: AbortSignal): Promise<boolean> {
    return (await this.inner.retag?.(key, tags, signal)) ?? false;
  }

  async rootExists(): Promise<boolean> {
    return (await this.inner.rootExists?.()) ?? true;
  }

  async createRoot(): Promise<void> {
    return this.inner.createRoot?.();
  }

  get archives(): boolean {
    return this.inner.archives === true;
  }

  localPath(key: string): string | undefined {
    return this.inner.localPath?.(key);
  }

  coldState(key: string): Promise<ColdState> {
    return coldStateOf(this.inner, key);
  }

  thaw(key: string, tier?: RetrievalTier, storageClass?: string): Promise<ThawResult> {
    return thawOf(this.inner, key, tier, storageClass);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
