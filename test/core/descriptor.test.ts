/**
 * core/descriptor and core/descriptor-schema: every field of a descriptor is checked before use
 * (bounded scrypt parameters above all), and a password check that was edited is told apart from
 * a wrong password.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkDescriptor, defaultKdf, deriveKeys, parseDescriptor, sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { descriptorIssues } from '../../src/core/descriptor-schema.js';
import { isStrataError } from '../../src/errors.js';

const SALT = Buffer.alloc(16, 3).toString('base64');
const H = 'ab'.repeat(32);

function unsealed(): Omit<Descriptor, 'check' | 'hmac'> {
  return {
    format: 'strata-set', version: 1, id: '261130_INCR_docs', job: 'default', source: 'docs', tier: 'daily', type: 'INCR', created: '2026-11-30T09:00:00.000Z',
    base: '261129_FULL_docs', depends: ['261129_FULL_docs', '261130_INCR_docs'],
    volumes: [{ name: '261130_INCR_docs.7z.001', size: 100, sha256: H }],
    manifest: { name: '261130_INCR_docs.manifest.7z', size: 50, sha256: H },
    protection: null,
    manifestProtection: { name: '261130_INCR_docs.manifest', dir: '', volumes: [0], blockSize: 4096, sourceBlocks: 1, recoveryBlocks: 1, recoveryBytes: 4096, recoveryFiles: 1 },
    recovery: [{ name: '261130_INCR_docs.manifest.par2', size: 10, sha256: H }, { name: 'sub_0001-0002/x.vol0+1.par2', size: 10, sha256: H }],
    stats: { files: 1, bytes: 2, archivedFiles: 1, archivedBytes: 2, added: 1, modified: 0, deleted: 0 },
    tool: { strata: '0.1.0' },
    kdf: defaultKdf(SALT),
    restoreText: { size: 10, sha256: H },
  };
}

function parse(d: unknown): Descriptor {
  return parseDescriptor(JSON.stringify(d), 'x/x.strata.json');
}

test('a sealed descriptor parses and checks ok; fields this version does not know pass (the HMAC covers them)', () => {
  const d = sealDescriptor({ ...unsealed(), futureField: 'abc' } as Omit<Descriptor, 'check' | 'hmac'>, 'pw');
  assert.deepEqual(descriptorIssues(d), []);
  assert.equal(checkDescriptor(parse(d), 'pw'), 'ok');
  assert.equal(checkDescriptor(parse(d), 'other'), 'wrong-password');
});

test('bad fields are TAMPERED, named, before scrypt runs: N not a power of two or out of bounds, r, p, salt, sizes, names', () => {
  const base = sealDescriptor(unsealed(), 'pw');
  const cases: [string, (d: Record<string, unknown>) => void, RegExp][] = [
    ['N=3', (d) => ((d['kdf'] as Record<string, unknown>)['N'] = 3), /kdf\.N/],
    ['N=2^40', (d) => ((d['kdf'] as Record<string, unknown>)['N'] = 2 ** 40), /kdf\.N/],
    ['N=3·2^14', (d) => ((d['kdf'] as Record<string, unknown>)['N'] = 3 * 2 ** 14), /kdf\.N/],
    ['N=2^13', (d) => ((d['kdf'] as Record<string, unknown>)['N'] = 2 ** 13), /kdf\.N/],
    ['r=1e9', (d) => ((d['kdf'] as Record<string, unknown>)['r'] = 1e9), /kdf\.r/],
    ['N·r memory', (d) => Object.assign(d['kdf'] as object, { N: 2 ** 18, r: 16 }), /memory/],
    ['p=0', (d) => ((d['kdf'] as Record<string, unknown>)['p'] = 0), /kdf\.p/],
    ['short salt', (d) => ((d['kdf'] as Record<string, unknown>)['salt'] = 'AAAA'), /kdf\.salt/],
    ['alg', (d) => ((d['kdf'] as Record<string, unknown>)['alg'] = 'argon2'), /kdf\.alg/],
    ['negative size', (d) => ((d['volumes'] as Record<string, unknown>[])[0]!['size'] = -1), /volumes\.0\.size/],
    ['name with ..', (d) => ((d['volumes'] as Record<string, unknown>[])[0]!['name'] = '../../etc/passwd'), /volumes\.0\.name/],
    ['absolute recovery name', (d) => ((d['recovery'] as Record<string, unknown>[])[0]!['name'] = '/etc/x'), /recovery\.0\.name/],
    ['short hash', (d) => ((d['manifest'] as Record<string, unknown>)['sha256'] = 'abc'), /manifest\.sha256/],
    ['check not hex', (d) => (d['check'] = 'zz'), /check/],
    ['tier', (d) => (d['tier'] = 'hourly'), /tier/],
    ['INCR without base', (d) => (d['base'] = null), /base/],
    ['parts not adding up', (d) => (d['parts'] = [{ archive: `${d['id'] as string}.7z`, method: 'lzma2', volumes: 99 }]), /parts/],
    ['a part named outside the set', (d) => (d['parts'] = [{ archive: '../other.7z', method: 'lzma2', volumes: (d['volumes'] as unknown[]).length }]), /parts/],
    ['a part method 7-Zip is not given', (d) => (d['parts'] = [{ archive: `${d['id'] as string}.7z`, method: 'ppmd', volumes: (d['volumes'] as unknown[]).length }]), /parts/],
    ['stats', (d) => ((d['stats'] as Record<string, unknown>)['files'] = 'many'), /stats\.files/],
    ['created', (d) => (d['created'] = 'yesterday'), /created/],
    ['unit volume out of range', (d) => (d['protection'] = { strategy: 'direct', strategyReason: '', sizeClass: 's', redundancyPercent: 10, units: [{ name: 'u', dir: '', volumes: [0, 5], blockSize: 4096, sourceBlocks: 1, recoveryBlocks: 1, recoveryBytes: 1, recoveryFiles: 1 }], guarantees: { blockSize: 4096, wholeVolumesAnywhere: 0, scatteredBlocks: 0, scatteredBytes: 0, contiguousBytes: 0, protectedBytes: 0, recoveryBytes: 0, overheadPercent: 0, perUnit: [], notes: [] } }), /protection\.units\.0\.volumes/],
    ['restoreText size', (d) => ((d['restoreText'] as Record<string, unknown>)['size'] = 1.5), /restoreText\.size/],
  ];
  for (const [what, edit, field] of cases) {
    const d = structuredClone(base) as unknown as Record<string, unknown>;
    edit(d);
    assert.throws(() => parse(d), (e: unknown) => isStrataError(e, 'TAMPERED') && field.test(e.message) && e.message.includes('x/x.strata.json'), what);
  }
  assert.throws(() => parseDescriptor('{"format": "strata-set", ', 'x/x.strata.json'), (e: unknown) => isStrataError(e, 'DAMAGED'));
});

test('deriveKeys itself refuses out-of-bounds scrypt parameters (a clear error, not a RangeError or all the memory)', () => {
  assert.throws(() => deriveKeys('pw', { ...defaultKdf(SALT), N: 3 }), (e: unknown) => isStrataError(e, 'TAMPERED'));
  assert.throws(() => deriveKeys('pw', { ...defaultKdf(SALT), N: 2 ** 30 }), (e: unknown) => isStrataError(e, 'TAMPERED'));
});

test('a zeroed password check with the right password is tampered (the HMAC verifies over the recomputed check); with a wrong one it is wrong-password', () => {
  const d = sealDescriptor(unsealed(), 'pw');
  const zeroed = { ...d, check: '0'.repeat(64) };
  assert.equal(checkDescriptor(zeroed, 'pw'), 'tampered');
  assert.equal(checkDescriptor(zeroed, 'other'), 'wrong-password');
  // The check and another field edited: this descriptor alone cannot tell (pipeline/set-check asks the other sets).
  assert.equal(checkDescriptor({ ...zeroed, stats: { ...d.stats, files: 9 } }, 'pw'), 'wrong-password');
  // Another field edited, check intact: tampered, as before.
  assert.equal(checkDescriptor({ ...d, stats: { ...d.stats, files: 9 } }, 'pw'), 'tampered');
});
