/** core/cold: archive classes, retrieval tiers, AWS's documented waits and the x-amz-restore header. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { coldStateOf, expectedWait, isArchiveClass, parseRetrievalTier, tierFor } from '../../src/core/cold.js';
import { isStrataError } from '../../src/errors.js';

describe('core/cold', () => {
  it('only GLACIER and DEEP_ARCHIVE need a restore', () => {
    assert.deepEqual(['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'STANDARD_IA', 'STANDARD', undefined].map(isArchiveClass), [true, true, false, false, false, false]);
  });
  it('reads retrieval tiers case-insensitively and refuses others with a hint (exit 2)', () => {
    assert.equal(parseRetrievalTier('bulk', '--retrieval-tier'), 'Bulk');
    assert.throws(() => parseRetrievalTier('Fast', '--retrieval-tier'), (e: unknown) => isStrataError(e, 'USAGE') && e.exitCode === 2 && /Expedited, Standard, Bulk/.test(e.hint ?? ''));
  });
  it('asks Standard for DEEP_ARCHIVE when Expedited is configured, and states the documented waits', () => {
    assert.equal(tierFor('DEEP_ARCHIVE', 'Expedited'), 'Standard');
    assert.equal(tierFor('GLACIER', 'Expedited'), 'Expedited');
    assert.deepEqual((['Expedited', 'Standard', 'Bulk'] as const).map((t) => expectedWait('GLACIER', t)), ['1–5 minutes (objects under 250 MB)', '3–5 hours', '5–12 hours']);
    assert.deepEqual([expectedWait('DEEP_ARCHIVE', 'Standard'), expectedWait('DEEP_ARCHIVE', 'Bulk')], ['within 12 hours', 'within 48 hours']);
  });
  it('reads x-amz-restore', () => {
    assert.deepEqual(coldStateOf(undefined, undefined), { storageClass: 'STANDARD', state: 'hot' });
    assert.deepEqual(coldStateOf('GLACIER', undefined), { storageClass: 'GLACIER', state: 'archived' });
    assert.deepEqual(coldStateOf('DEEP_ARCHIVE', 'ongoing-request="true"'), { storageClass: 'DEEP_ARCHIVE', state: 'restoring' });
    assert.deepEqual(coldStateOf('GLACIER', 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'), { storageClass: 'GLACIER', state: 'restored', expiry: 'Fri, 21 Dec 2012 00:00:00 GMT' });
  });
});
