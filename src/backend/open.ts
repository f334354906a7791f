/**
 * backend/open: turns a parsed Destination (src/core/destination.ts) into a ready Backend, stacked
 * with the wrappers every command wants (retries, a concurrency limit, debug logging).
 */
import { homedir } from 'node:os';
import * as path from 'node:path';
import { describeDestination, type Destination, type S3Destination } from '../core/destination.js';
import { EXPIRE_TAG, type LifecycleConfiguration } from '../core/cloud/lifecycle-rules.js';
import { StrataError } from '../errors.js';
import type { Backend } from './backend.js';
import { LocalBackend } from './local.js';
// The remote backends are loaded on demand: the AWS SDK alone costs hundreds of ms at start-up,
// which every local run (and the no-change daily run above all) would otherwise pay.
import type { RcloneBackend } from './rclone.js';
import type { S3Backend } from './s3.js';
import type { WebDavBackend } from './webdav.js';
import { ExpireByTagBackend } from './expire-by-tag.js';
import { LimitedBackend, LoggingBackend, RetryingBackend, type RetryOptions } from './wrappers.js';

/** OpenOptions tune how a destination is opened. */
export interface OpenOptions {
  /** Environment (credentials chain, STRATA_WEBDAV_PASSWORD, rclone remotes); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Folder relative local paths are resolved against (default process.cwd()). */
  cwd?: string;
  /** One-time warnings from the backend (e.g. no tagging support). */
  onWarning?: (message: string) => void;
  /** Debug lines (keys, sizes, outcomes; never data or credentials); adds a LoggingBackend. */
  onDebug?: (line: string) => void;
  /** Retry policy, or false for none (default: RetryingBackend with its defaults). */
  retry?: RetryOptions | false;
  /** At most this many operations at once (default: unlimited). */
  concurrency?: number;
  /** S3 multipart part size and listing page size (tests use small values). */
  s3PartSize?: number;
  s3PageSize?: number;
  /** S3 only: delete() tags the object expire=yes instead (retention.deleteBy: tag; ExpireByTagBackend). */
  deleteByTag?: boolean;
  /** Extra global rclone flags (e.g. ['--config', FILE]). */
  rcloneArgs?: string[];
}

/** openBackend opens the Backend of a destination, wrapped as the options ask. */
export async function openBackend(dest: Destination, opts: OpenOptions = {}): Promise<Backend> {
  const env = opts.env ?? process.env;
  const description = describeDestination(dest);
  let backend: Backend;
  switch (dest.kind) {
    case 'local': {
      let p = dest.path;
      if (p === '~' || p.startsWith('~/')) p = path.join(homedir(), p.slice(1));
      backend = new LocalBackend(path.resolve(opts.cwd ?? process.cwd(), p));
      break;
    }
    case 's3': {
      const s3: ConstructorParameters<typeof S3Backend>[0] = { bucket: dest.bucket, prefix: dest.prefix, description, env };
      if (dest.endpoint !== undefined) s3.endpoint = dest.endpoint;
      if (dest.region !== undefined) s3.region = dest.region;
      if (dest.pathStyle !== undefined) s3.forcePathStyle = dest.pathStyle;
      if (dest.profile !== undefined) s3.profile = dest.profile;
      if (dest.storageClass !== undefined) s3.storageClass = dest.storageClass;
      if (dest.storageClasses !== undefined) s3.storageClasses = dest.storageClasses;
      if (dest.retrievalTier !== undefined) s3.retrievalTier = dest.retrievalTier;
      if (dest.accessKeyId !== undefined && dest.secretAccessKey !== undefined) {
        s3.credentials = { accessKeyId: dest.accessKeyId, secretAccessKey: dest.secretAccessKey };
        if (dest.sessionToken !== undefined) s3.credentials.sessionToken = dest.sessionToken;
      }
      if (opts.onWarning !== undefined) s3.onWarning = opts.onWarning;
      if (opts.s3PartSize !== undefined) s3.partSize = opts.s3PartSize;
      if (opts.s3PageSize !== undefined) s3.pageSize = opts.s3PageSize;
      const { S3Backend: S3 } = await import('./s3.js');
      backend = new S3(s3);
      break;
    }
    case 'webdav': {
      const password = dest.password ?? env['STRATA_WEBDAV_PASSWORD'];
      const dav: ConstructorParameters<typeof WebDavBackend>[0] = { url: dest.url, description };
      if (dest.username !== undefined) dav.username = dest.username;
      if (password !== undefined) dav.password = password;
      if (opts.onWarning !== undefined) dav.onWarning = opts.onWarning;
      const { WebDavBackend: Dav } = await import('./webdav.js');
      backend = new Dav(dav);
      break;
    }
    case 'rclone': {
      const rc: ConstructorParameters<typeof RcloneBackend>[0] = { target: dest.target, env, description };
      if (opts.rcloneArgs !== undefined) rc.args = opts.rcloneArgs;
      const { RcloneBackend: Rclone } = await import('./rclone.js');
      backend = new Rclone(rc);
      break;
    }
  }
  if (opts.onDebug !== undefined) backend = new LoggingBackend(backend, opts.onDebug);
  if (opts.concurrency !== undefined) backend = new LimitedBackend(backend, opts.concurrency);
  if (opts.retry !== false) backend = new RetryingBackend(backend, opts.retry ?? {});
  if (opts.deleteByTag === true && dest.kind === 's3') backend = new ExpireByTagBackend(backend, EXPIRE_TAG);
  return backend;
}

/**
 * setBucketLifecycle sets the lifecycle rules of an S3 destination's bucket (`strata cloud
 * lifecycle --apply`), replacing the bucket's configuration. NO_DESTINATION for a missing bucket.
 */
export async function setBucketLifecycle(dest: S3Destination, config: LifecycleConfiguration, opts: OpenOptions = {}): Promise<void> {
  const { S3Backend: S3 } = await import('./s3.js');
  const backend = await openBackend(dest, { ...opts, retry: false });
  try {
    if (!(backend instanceof S3)) throw new StrataError('INTERNAL', 'an S3 destination did not open as an S3 backend');
    if (!(await backend.rootExists())) throw new StrataError('NO_DESTINATION', `bucket ${dest.bucket} does not exist`, { hint: 'Check the bucket name, region and endpoint; strata never creates a bucket.' });
    await backend.setLifecycle(config);
  } finally {
    await backend.close();
  }
}
