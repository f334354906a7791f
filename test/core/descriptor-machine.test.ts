/**
 * core/descriptor and repository markers: the machine that made a set is part of the sealed
 * descriptor; a descriptor without one (an older strata) still reads; a marker's machine decides
 * whose unfinished set it is.
 */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { checkDescriptor, isMachineRef, parseDescriptor, sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { Repository } from '../../src/repository/repository.js';
import { isStrataError } from '../../src/errors.js';

const A = { id: 'aaaa0000000000000000000000000001', host: 'laptop' };
const B = { id: 'bbbb0000000000000000000000000002', host: 'laptop' };

function unsealed(): Omit<Descriptor, 'check' | 'hmac'> {
  return {
    format: 'strata-set', version: 1, id: '261129_FULL_docs', job: 'default', machine: A, source: 'docs', tier: 'weekly', type: 'FULL',
    created: '2026-11-29T09:00:00.000Z', base: null, depends: ['261129_FULL_docs'], volumes: [], manifest: { name: 'm', size: 1, sha256: 'a'.repeat(64) },
    protection: null, recovery: [], stats: { files: 0, bytes: 0, archivedFiles: 0, archivedBytes: 0, added: 0, modified: 0, deleted: 0 }, tool: {},
    kdf: { alg: 'scrypt', N: 1 << 14, r: 8, p: 1, salt: Buffer.alloc(16, 7).toString('base64') },
  };
}

test('the machine is sealed: changing it (or removing it) is tampering', () => {
  const d = sealDescriptor(unsealed(), 'pw');
  assert.equal(checkDescriptor(d, 'pw'), 'ok');
  assert.equal(checkDescriptor({ ...d, machine: B }, 'pw'), 'tampered');
  assert.equal(checkDescriptor({ ...d, machine: { ...A, host: 'other' } }, 'pw'), 'tampered');
  const { machine: _m, ...legacy } = d;
  assert.equal(checkDescriptor(legacy, 'pw'), 'tampered');
});

test('a descriptor without a machine (older strata) reads; a malformed machine does not', () => {
  const { machine: _m, ...rest } = unsealed();
  const legacy = sealDescriptor(rest, 'pw');
  const parsed = parseDescriptor(JSON.stringify(legacy), 'k');
  assert.equal(parsed.machine, undefined);
  assert.equal(checkDescriptor(parsed, 'pw'), 'ok');
  assert.throws(() => parseDescriptor(JSON.stringify({ ...legacy, machine: { id: 'not hex', host: 'x' } }), 'k'), (e: unknown) => isStrataError(e, 'TAMPERED') && /machine/.test(e.message));
  assert.throws(() => parseDescriptor(JSON.stringify({ ...legacy, machine: 'laptop' }), 'k'), (e: unknown) => isStrataError(e, 'TAMPERED') && /machine/.test(e.message));
  assert.ok(isMachineRef(A));
  assert.ok(!isMachineRef({ id: A.id }));
});

test('a marker of another machine, or with an unreadable machine, is never this machine\'s; an older marker falls back', () => {
  const base = { host: 'laptop', pid: 1, started: '2026-11-29T09:00:00.000Z' };
  assert.equal(Repository.markerOwner({ ...base, machine: A }, A), 'this');
  assert.equal(Repository.markerOwner({ ...base, machine: B }, A), 'other');
  assert.equal(Repository.markerOwner(JSON.parse(JSON.stringify({ ...base, machine: { id: 42 } })) as never, A), 'other');
  assert.notEqual(Repository.markerOwner(base, A), 'other', 'an older marker: the host and process checks decide');
  assert.equal(Repository.markerOwner({ ...base, host: hostname() }, A), 'this', 'an older marker of this host is this machine\'s');
  assert.equal(Repository.markerOwner({ ...base, host: `not-${hostname()}` }, A), 'unknown');
  assert.equal(Repository.markerOwner(undefined, A), 'unknown');
});
