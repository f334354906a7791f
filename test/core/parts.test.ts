/** core/parts: routing files to a stored and one or two LZMA2 archives, balancing by bytes, and reading parts back from a descriptor. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { balance, defaultRoutePolicy, firstVolumeName, partsIssues, partsOf, planParts, type RouteFile, type RoutePolicy } from '../../src/core/parts.js';

const ID = '261207_FULL_docs';
const MiB = 1024 * 1024;
const policy: RoutePolicy = { enabled: true, minBytes: 10 * MiB, splitMinBytes: 16 * MiB, storeMinBytes: 4 * MiB };

/** corpus: 6 media files of 5 MiB (stored), 6 documents of 3 MiB and 3,000 small files of 1–7 KB (compressed), interleaved as a scan lists them. */
function corpus(): RouteFile[] {
  const files: RouteFile[] = [];
  for (let i = 0; i < 3000; i++) {
    files.push({ path: `code/f${i}.txt`, size: 1024 + ((i * 2654435761) % 6144), storage: 'compress' });
    if (i % 500 === 0) files.push({ path: `media/m${i / 500}.mp4`, size: 5 * MiB, storage: 'store' }, { path: `docs/d${i / 500}.txt`, size: 3 * MiB, storage: 'compress' });
  }
  return files;
}

test('balance: largest first to the lighter list; lists keep the input order and together hold every file once', () => {
  const files = [7, 5, 4, 3, 3, 2, 1].map((size, i) => ({ path: `f${i}`, size }));
  const lists = balance(files, 2);
  assert.deepEqual(lists, [
    { paths: ['f0', 'f3', 'f5', 'f6'], bytes: 13 },
    { paths: ['f1', 'f2', 'f4'], bytes: 12 },
  ]);
  // Many files: the two lists differ by at most the largest file.
  const many = corpus().map(({ path, size }) => ({ path, size }));
  const [a, b] = balance(many, 2);
  assert.ok(a !== undefined && b !== undefined);
  assert.ok(Math.abs(a.bytes - b.bytes) <= 7 * 1024, `${a.bytes} vs ${b.bytes}`);
  assert.equal(a.paths.length + b.paths.length, many.length);
  assert.equal(new Set([...a.paths, ...b.paths]).size, many.length);
  assert.deepEqual(balance([{ path: 'only', size: 9 }], 2), [{ paths: ['only'], bytes: 9 }], 'no empty list');
});

test('planParts: the issue-like corpus gives two balanced LZMA2 parts and the stored media last', () => {
  const files = corpus();
  const parts = planParts(files, policy);
  assert.deepEqual(parts.map((p) => p.method), ['lzma2', 'lzma2', 'copy']);
  assert.deepEqual(parts[2]?.paths, files.filter((f) => f.storage === 'store').map((f) => f.path));
  assert.equal(parts[2]?.bytes, 6 * 5 * MiB);
  const compressed = files.filter((f) => f.storage === 'compress').reduce((n, f) => n + f.size, 0);
  assert.equal((parts[0]?.bytes ?? 0) + (parts[1]?.bytes ?? 0), compressed);
  assert.ok(Math.abs((parts[0]?.bytes ?? 0) - (parts[1]?.bytes ?? 0)) < 8 * 1024);
  assert.equal(parts.reduce((n, p) => n + p.paths.length, 0), files.length, 'every file in exactly one part');
});

test('planParts: one LZMA2 archive as before when routing is off, the set is small, or nothing is worth storing or splitting', () => {
  const files = corpus();
  const all = files.map((f) => f.path);
  assert.deepEqual(planParts(files, { ...policy, enabled: false }).map((p) => [p.method, p.paths]), [['lzma2', all]]);
  assert.deepEqual(planParts(files, { ...policy, minBytes: 200 * MiB }).map((p) => [p.method, p.paths]), [['lzma2', all]]);
  const text = files.map((f) => ({ ...f, storage: 'compress' as const })).filter((f) => f.size < MiB);
  assert.deepEqual(planParts(text, { ...policy, minBytes: 1 }).map((p) => p.method), ['lzma2'], 'small compressible data is not split');
  // Stored files adding up to less than storeMinBytes are compressed with the rest.
  const fewMedia = [...text, { path: 'one.jpg', size: 3 * MiB, storage: 'store' as const }];
  assert.deepEqual(planParts(fewMedia, { ...policy, minBytes: 1 }).map((p) => [p.method, p.paths.length]), [['lzma2', fewMedia.length]]);
  // Only media: one stored archive, which is then part 0 (<set>.7z).
  const media = files.filter((f) => f.storage === 'store');
  assert.deepEqual(planParts(media, policy).map((p) => p.method), ['copy']);
  assert.deepEqual(planParts([], defaultRoutePolicy).map((p) => p.paths), [[]]);
});

test('partsOf: recorded parts with their first volume; an old descriptor is one LZMA2 part <set>.7z over every volume', () => {
  const vols = (names: string[]): { name: string }[] => names.map((name) => ({ name }));
  const old = vols([`${ID}.7z.001`, `${ID}.7z.002`]);
  assert.deepEqual(partsOf({ id: ID, volumes: old }), [{ archive: `${ID}.7z`, method: 'lzma2', volumes: 2, first: 0 }]);
  assert.deepEqual(partsOf({ id: ID, volumes: [] }), []);
  const parts = [
    { archive: `${ID}.7z`, method: 'lzma2' as const, volumes: 2 },
    { archive: `${ID}.p2.7z`, method: 'lzma2' as const, volumes: 1 },
    { archive: `${ID}.p3.7z`, method: 'copy' as const, volumes: 3 },
  ];
  const volumes = vols([`${ID}.7z.001`, `${ID}.7z.002`, `${ID}.p2.7z.001`, `${ID}.p3.7z.001`, `${ID}.p3.7z.002`, `${ID}.p3.7z.003`]);
  assert.deepEqual(partsOf({ id: ID, volumes, parts }).map((p) => [p.archive, p.first, firstVolumeName(p)]), [
    [`${ID}.7z`, 0, `${ID}.7z.001`],
    [`${ID}.p2.7z`, 2, `${ID}.p2.7z.001`],
    [`${ID}.p3.7z`, 3, `${ID}.p3.7z.001`],
  ]);
  assert.deepEqual(partsIssues(ID, volumes, parts), []);
  // Recorded parts must match the volumes: names strata makes, in order, counts adding up.
  assert.ok(partsIssues(ID, volumes.slice(1), parts).length > 0, 'a volume missing from the list');
  assert.ok(partsIssues(ID, volumes, [parts[1], parts[0], parts[2]].filter((p) => p !== undefined)).length > 0, 'parts out of order');
  assert.ok(partsIssues(ID, vols([`${ID}.7z.001`, `${ID}.7z.002`, `${ID}.p2.7z.001`, `${ID}.p3.7z.001`, `${ID}.p3.7z.003`, `${ID}.p3.7z.002`]), parts).length > 0, 'volumes out of order');
  assert.ok(partsIssues(ID, vols([`${ID}.7z.001`, `${ID}.7z.002`, `../x.7z.001`, `${ID}.p3.7z.001`, `${ID}.p3.7z.002`, `${ID}.p3.7z.003`]), parts).length > 0, 'a foreign name');
});
