/** core/words: "1 file", "2 files", never "1 files" or "volume(s)". */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { counted } from '../../src/core/words.js';

test('counted picks singular or plural', () => {
  assert.equal(counted(1, 'file'), '1 file');
  assert.equal(counted(0, 'file'), '0 files');
  assert.equal(counted(2, 'entry', 'entries'), '2 entries');
  assert.equal(counted(1, 'entry', 'entries'), '1 entry');
  assert.equal(counted(1, 'whole volume'), '1 whole volume');
});
