/** keys: the rules for object keys shared by every backend. */
import { StrataError } from '../errors.js';

/** validateKey throws UNSAFE_PATH for a key that is absolute, empty, or has empty, '.' or '..' segments. */
export function validateKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.includes('\0')) {
    throw new StrataError('UNSAFE_PATH', `invalid object key ${JSON.stringify(key)}`);
  }
  for (const seg of key.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') {
      throw new StrataError('UNSAFE_PATH', `invalid object key ${JSON.stringify(key)}`);
    }
  }
  return key;
}

/** joinKey joins key segments with '/'. */
export function joinKey(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}
