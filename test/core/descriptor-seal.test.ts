/** core/descriptor sealing: canonical JSON, the password check value and the HMAC over every field. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, checkDescriptor, checkDescriptorAsync, defaultKdf, recoveryPercent, sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';

test('canonicalJson sorts keys at every depth, drops undefined fields and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
  assert.equal(canonicalJson(['b', 'a']), '["b","a"]');
  assert.equal(canonicalJson({ s: 'é"\n' }), '{"s":"é\\"\\n"}');
  assert.equal(canonicalJson(null), 'null');
});

function unsealed(): Omit<Descriptor, 'check' | 'hmac'> {
  return {
    format: 'strata-set',
    version: 1,
    id: '261206_FULL_docs',
    job: 'job-a',
    source: 'docs',
    tier: 'weekly',
    type: 'FULL',
    created: '2026-12-06T14:30:12.000Z',
    base: null,
    depends: ['261206_FULL_docs'],
    volumes: [{ name: '261206_FULL_docs.7z.001', size: 10, sha256: 'a'.repeat(64) }],
    manifest: { name: '261206_FULL_docs.manifest.7z', size: 5, sha256: 'b'.repeat(64) },
    protection: null,
    recovery: [],
    stats: { files: 1, bytes: 3, archivedFiles: 1, archivedBytes: 3, added: 1, modified: 0, deleted: 0 },
    tool: { strata: '0.1.0' },
    kdf: defaultKdf(Buffer.alloc(16, 7).toString('base64')),
  };
}

test('a sealed descriptor checks ok with its password, wrong-password with another', async () => {
  const d = sealDescriptor(unsealed(), 'correct horse');
  assert.match(d.check, /^[0-9a-f]{64}$/);
  assert.match(d.hmac, /^[0-9a-f]{64}$/);
  assert.equal(checkDescriptor(d, 'correct horse'), 'ok');
  assert.equal(await checkDescriptorAsync(d, 'correct horse'), 'ok');
  assert.equal(checkDescriptor(d, 'correct horse '), 'wrong-password');
  // The password is NFC-normalised: the same text typed as decomposed characters still opens it.
  const e = sealDescriptor(unsealed(), 'caf\u00e9');
  assert.equal(checkDescriptor(e, 'cafe\u0301'), 'ok');
  // Sealing is deterministic for the same content, and the key order of the input does not matter.
  const reordered = Object.fromEntries(Object.entries(unsealed()).reverse()) as Omit<Descriptor, 'check' | 'hmac'>;
  assert.equal(sealDescriptor(reordered, 'correct horse').hmac, d.hmac);
});

test('any change to any field after sealing is tampering', () => {
  const d = sealDescriptor(unsealed(), 'pw');
  const changes: [string, (x: Descriptor) => void][] = [
    ['tier', (x) => (x.tier = 'yearly')],
    ['job', (x) => (x.job = 'job-b')],
    ['a volume hash', (x) => (x.volumes[0] = { ...x.volumes[0]!, sha256: 'c'.repeat(64) })],
    ['a volume dropped', (x) => (x.volumes = [])],
    ['depends', (x) => (x.depends = [])],
    ['created', (x) => (x.created = '2027-01-01T00:00:00.000Z')],
    ['an added field', (x) => Object.assign(x, { extra: 1 })],
    ['the hmac itself', (x) => (x.hmac = '0'.repeat(64))],
  ];
  for (const [what, change] of changes) {
    const copy = structuredClone(d);
    change(copy);
    assert.equal(checkDescriptor(copy, 'pw'), 'tampered', what);
  }
  assert.equal(checkDescriptor(structuredClone(d), 'pw'), 'ok');
});

test('recoveryPercent is the recovery data really stored over the data it protects', () => {
  const o = (size: number): { name: string; size: number; sha256: string } => ({ name: 'x', size, sha256: 'a'.repeat(64) });
  // 2.5 volumes of 100 where the whole-volume floor rebuilds one: 100 of recovery over 250 + 10.
  assert.equal(recoveryPercent({ volumes: [o(100), o(100), o(50)], manifest: o(10), recovery: [o(100), o(4)] }), 40);
  assert.equal(recoveryPercent({ volumes: [], manifest: o(0), recovery: [] }), 0);
  assert.equal(recoveryPercent({ volumes: [o(1000)], manifest: o(0), recovery: [o(150)] }), 15);
});
