/** backend/expire-by-tag: deletion by tag for S3 destinations of a job with retention.deleteBy: tag. */
import { StrataError, isStrataError } from '../errors.js';
import type { Backend } from './backend.js';
import { ForwardingBackend } from './forwarding.js';

/**
 * ExpireByTagBackend never deletes: delete() tags the object `expire=yes` (keeping its other tags)
 * and the bucket's lifecycle rule by that tag (`strata cloud lifecycle --apply`) deletes it. Used
 * for S3 destinations of a job with `retention.deleteBy: tag`, so that backup credentials need no
 * delete permission. The object stays listed until the provider deletes it; a second delete() of a
 * tagged object changes nothing. A provider that keeps no tags cannot do this: CONFIG.
 */
export class ExpireByTagBackend extends ForwardingBackend {
  constructor(
    inner: Backend,
    private readonly tag: { Key: string; Value: string },
  ) {
    super(inner);
  }

  override async delete(key: string): Promise<void> {
    let tags: Record<string, string> | undefined;
    try {
      tags = (await this.inner.stat(key)).tags;
    } catch (e) {
      if (isStrataError(e) && e.code === 'NOT_FOUND') return;
      throw e;
    }
    if (tags?.[this.tag.Key] === this.tag.Value) return;
    if (!((await this.inner.retag?.(key, { ...(tags ?? {}), [this.tag.Key]: this.tag.Value })) ?? false)) {
      throw new StrataError('CONFIG', `retention.deleteBy is tag, but ${this.inner.description} keeps no object tags: ${key} cannot be marked for deletion`, {
        hint: 'Use retention.deleteBy: strata (prune deletes) on this provider.',
      });
    }
  }
}
