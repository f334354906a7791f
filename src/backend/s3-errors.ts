/**
 * backend/s3-errors: how a failure of the AWS SDK or the network becomes a StrataError — which
 * failures are retried, which are credentials, archive storage, a missing object or bucket, or a
 * configuration mistake (a storage class or region the provider does not know).
 */
import { StrataError, errorMessage, isStrataError } from '../errors.js';

export const AUTH_HINT = 'Check the access key and secret (or AWS_PROFILE / ~/.aws/credentials), and that the key may use this bucket.';

const RETRIABLE_NAMES = new Set(['SlowDown', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestThrottled', 'TimeoutError', 'BadDigest', 'IncompleteBody', 'XAmzContentSHA256Mismatch']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);
const AUTH_NAMES = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError', 'InvalidClientTokenId', 'AllAccessDisabled']);

export function errorName(e: unknown): string {
  return typeof e === 'object' && e !== null && 'name' in e && typeof e.name === 'string' ? e.name : '';
}

export function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null || !('$metadata' in e)) return undefined;
  const md = e.$metadata;
  if (typeof md !== 'object' || md === null || !('httpStatusCode' in md)) return undefined;
  return typeof md.httpStatusCode === 'number' ? md.httpStatusCode : undefined;
}

function errCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}

export function isNotImplemented(e: unknown): boolean {
  const name = errorName(e);
  const status = statusOf(e);
  return name === 'NotImplemented' || name === 'MethodNotAllowed' || status === 501 || status === 405;
}

/** mapS3Error classifies an AWS SDK or network failure as a StrataError. */
export function mapS3Error(e: unknown, action: string): StrataError {
  if (isStrataError(e)) return e;
  const name = errorName(e);
  const status = statusOf(e);
  const code = errCode(e);
  const msg = `${action}: ${name !== '' && name !== 'Error' ? `${name}: ` : ''}${errorMessage(e)}`;
  if (name === 'AbortError') return new StrataError('CANCELLED', `${action}: cancelled`, { cause: e });
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket' && name !== 'NoSuchUpload')) {
    return new StrataError('NOT_FOUND', `${action}: does not exist`, { cause: e });
  }
  if (name === 'NoSuchBucket') {
    return new StrataError('BACKEND', `${action}: the bucket does not exist`, { cause: e, hint: 'Create the bucket (or check its name, region and endpoint).' });
  }
  // An archived object (GLACIER, DEEP_ARCHIVE) read without a restore: a 403 that is no credentials problem.
  if (name === 'InvalidObjectState') {
    return new StrataError('ARCHIVED', `${action}: the object is in archive storage (InvalidObjectState) and must be restored from there before it can be read`, {
      cause: e,
      hint: 'strata restore and strata verify request the restore themselves (see "Sets in cold storage" in the README): run strata restore or strata verify --read-data, then run the same command again after the wait they print.',
    });
  }
  if (AUTH_NAMES.has(name) || status === 401 || status === 403) {
    return new StrataError('AUTH', `${action}: access denied (${name !== '' && name !== 'Unknown' ? name : `HTTP ${status ?? '?'}`})`, { cause: e, hint: AUTH_HINT });
  }
  if (name === 'BadDigest' || name === 'InvalidDigest') {
    return new StrataError('CHECKSUM', `${action}: the provider received damaged data (${name})`, { cause: e, retriable: true });
  }
  if (name === 'InvalidStorageClass' || (name === 'InvalidArgument' && /storage ?class/i.test(errorMessage(e)))) {
    return new StrataError('CONFIG', msg, { cause: e, hint: 'Use a storage class this provider offers (or none).' });
  }
  if (/region is missing/i.test(errorMessage(e))) {
    return new StrataError('CONFIG', `${action}: no region`, { cause: e, hint: 'Add ?region=… to the s3:// destination or set AWS_REGION.' });
  }
  const retriable = RETRIABLE_NAMES.has(name) || (status !== undefined && status >= 500) || status === 429 || (code !== undefined && NETWORK_CODES.has(code)) || /socket hang up|timed? ?out|ECONNRESET/i.test(errorMessage(e));
  return new StrataError('BACKEND', msg, { cause: e, retriable });
}
