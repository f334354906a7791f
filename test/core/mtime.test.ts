/** core/manifest formatMtime/parseMtime: the text of a second is kept from the last call; any order of calls gives the same text. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMtime, parseMtime } from '../../src/core/manifest.js';

test('mtimes round-trip in any order: same second, another second, before 1970, back again', () => {
  const times = [1_765_000_000_123_456_789n, 1_765_000_000_999_999_999n, 1_765_000_001_000_000_000n, -1n, -1_000_000_001n, 0n, 1_765_000_000_000_000_001n, 946_684_799_500_000_000n];
  const expected = ['2025-12-06T05:46:40.123456789Z', '2025-12-06T05:46:40.999999999Z', '2025-12-06T05:46:41.000000000Z', '1969-12-31T23:59:59.999999999Z', '1969-12-31T23:59:58.999999999Z', '1970-01-01T00:00:00.000000000Z', '2025-12-06T05:46:40.000000001Z', '1999-12-31T23:59:59.500000000Z'];
  for (let round = 0; round < 2; round++) {
    for (const [i, ns] of times.entries()) {
      assert.equal(formatMtime(ns), expected[i]);
      assert.equal(parseMtime(formatMtime(ns)), ns);
    }
  }
  assert.equal(parseMtime('2025-12-06T05:46:40Z'), 1_765_000_000_000_000_000n);
  assert.equal(parseMtime('2025-12-06T05:46:41.5Z'), 1_765_000_001_500_000_000n);
});
