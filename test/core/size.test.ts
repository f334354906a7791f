/** core/size formatSize: the one byte formatter, exact (config, plans) and short (tables, summaries). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSize } from '../../src/core/size.js';
import { formatBytes } from '../../src/ui/output.js';

const KiB = 1024;
const MiB = KiB * KiB;

test('exact: whole units without decimals, others to two', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(1023), '1023 B');
  assert.equal(formatSize(64 * KiB), '64 KiB');
  assert.equal(formatSize(1536 * MiB), '1.50 GiB');
  assert.equal(formatSize(1024 ** 5), '1 PiB');
});

test('short: about three figures, as tables and summaries print them (formatBytes is this style)', () => {
  assert.equal(formatSize(12, 'short'), '12 B');
  assert.equal(formatSize(1536, 'short'), '1.50 KiB');
  assert.equal(formatSize(100 * MiB, 'short'), '100.0 MiB');
  assert.equal(formatSize(12.345 * MiB, 'short'), '12.3 MiB');
  for (const n of [0, 999, 4096, 5 * MiB + 17, 3 * 1024 ** 4]) assert.equal(formatBytes(n), formatSize(n, 'short'));
});
