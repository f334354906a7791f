/** audit/audit auditFormLine: the audit form cut out of a manifest line equals the parsed-and-serialised one. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditFormLine } from '../../src/audit/audit.js';
import { parseLine, serializeDeleted, serializeEntry, type ManifestEntry } from '../../src/core/manifest.js';

test('auditFormLine drops `set` exactly as serializeEntry(e, false), whatever the names and attributes hold', () => {
  const sha256 = 'a'.repeat(64);
  const entries: ManifestEntry[] = [
    { path: 'docs/a.txt', type: 'file', size: 3, mtimeNs: 1n, mode: 0o644, sha256, set: '261207_FULL_docs', uid: 0, gid: 0, user: 'root', group: 'root' },
    { path: 'x","set":"evil', type: 'file', size: 3, mtimeNs: 1n, mode: 0o644, sha256, set: 'S1' },
    { path: 'ln', type: 'symlink', size: 0, mtimeNs: 1n, mode: 0o777, target: ',"set":"t', set: 'S1' },
    { path: 'd', type: 'dir', size: 0, mtimeNs: -5n, mode: 0o755, set: 'S2', xattrs: { 'user.a': 'eA==', set: 'eQ==' } },
    { path: 'nox', type: 'file', size: 3, mtimeNs: 1n, mode: 0o600, sha256, xattrs: { set: 'eQ==' } },
    { path: 'h', type: 'file', size: 3, mtimeNs: 1n, mode: 0o600, sha256, link: 'docs/a.txt', sparse: true },
    { path: 'ünï\ncode\\"', type: 'file', size: 0, mtimeNs: 1n, mode: 0o600, sha256, set: 'S3', user: '"set":"' },
  ];
  for (const e of entries) {
    const line = serializeEntry(e);
    const parsed = parseLine(line);
    assert.equal(parsed.kind, 'entry');
    if (parsed.kind !== 'entry') continue;
    assert.equal(auditFormLine(line), serializeEntry(parsed.entry, false), line);
  }
  assert.equal(auditFormLine(serializeDeleted('a","set":"b')), '');
  // Not serializeEntry's form: left to the parser.
  assert.equal(auditFormLine('{"strata":"manifest","version":1,"set":"S"}'), undefined);
  assert.equal(auditFormLine('{"type":"file","path":"a"}'), undefined);
});
