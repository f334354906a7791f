/**
 * pipeline/set-check: a failed password check is a wrong password only when no other set of the
 * destination accepts the password; otherwise the descriptor was edited.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultKdf, sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { checkSet } from '../../src/pipeline/set-check.js';

const H = 'cd'.repeat(32);

function sealed(id: string, password: string, salt: number): Descriptor {
  return sealDescriptor(
    {
      format: 'strata-set', version: 1, id, job: 'default', source: 'docs', tier: 'weekly', type: 'FULL', created: '2026-11-29T09:00:00.000Z', base: null, depends: [id],
      volumes: [{ name: `${id}.7z.001`, size: 1, sha256: H }], manifest: { name: `${id}.manifest.7z`, size: 1, sha256: H }, protection: null, recovery: [],
      stats: { files: 1, bytes: 1, archivedFiles: 1, archivedBytes: 1, added: 1, modified: 0, deleted: 0 }, tool: {}, kdf: defaultKdf(Buffer.alloc(16, salt).toString('base64')),
    },
    password,
  );
}

test('checkSet: an edited check plus another edit is tampered when another set (same or other salt) accepts the password', () => {
  const a = sealed('261129_FULL_docs', 'pw', 1);
  const b = sealed('261130_FULL_docs', 'pw', 2);
  const edited: Descriptor = { ...a, check: '0'.repeat(64), stats: { ...a.stats, files: 7 } };
  assert.equal(checkSet(edited, 'pw').check, 'wrong-password');
  const c = checkSet(edited, 'pw', [edited, b]);
  assert.equal(c.check, 'tampered');
  assert.match(c.reason ?? '', /261129_FULL_docs.*set 261130_FULL_docs of the same destination accepts this password/);
  // A wrong password stays one: no other set accepts it either.
  assert.equal(checkSet(edited, 'wrong', [edited, b]).check, 'wrong-password');
  assert.equal(checkSet(a, 'wrong', [a, b]).check, 'wrong-password');
  // A set of another password on the destination does not vouch for anything.
  assert.equal(checkSet(edited, 'pw', [sealed('261201_FULL_docs', 'other', 3)]).check, 'wrong-password');
  assert.deepEqual(checkSet(a, 'pw', [b]), { check: 'ok' });
});
