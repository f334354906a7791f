/** Unit tests for the pure half of the 7-Zip driver (src/core/sevenzip.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ItemLines,
  ProgressParser,
  SOLID_BLOCK,
  createArgs,
  extractArgs,
  isListFileSafe,
  listArgs,
  memoryLimitBytes,
  parseProgress,
  parseSltListing,
  parseUtcTimestampNs,
  testArgs,
} from '../../src/core/sevenzip.js';

const GiB = 1024 ** 3;

test('memoryLimitBytes: 2 GiB for a couple of files, 12 GiB past 70, linear between', () => {
  const big = 1024 * GiB;
  assert.equal(memoryLimitBytes(0, big), 2 * GiB);
  assert.equal(memoryLimitBytes(1, big), 2 * GiB);
  assert.equal(memoryLimitBytes(2, big), 2 * GiB);
  assert.equal(memoryLimitBytes(36, big), 7 * GiB);
  assert.equal(memoryLimitBytes(70, big), 12 * GiB);
  assert.equal(memoryLimitBytes(71, big), 12 * GiB);
  assert.equal(memoryLimitBytes(1_000_000, big), 12 * GiB);
  let prev = 0;
  for (let n = 0; n < 100; n++) {
    const v = memoryLimitBytes(n, big);
    assert.ok(v >= prev, 'monotonic');
    assert.equal(v % (1024 * 1024), 0, 'whole MiB');
    prev = v;
  }
});

test('memoryLimitBytes: capped at 75% of RAM, never below 64 MiB, unknown RAM is no cap', () => {
  assert.equal(memoryLimitBytes(100, 8 * GiB), 6 * GiB);
  assert.equal(memoryLimitBytes(1, 2 * GiB), 1.5 * GiB);
  assert.equal(memoryLimitBytes(100, 16 * 1024 * 1024), 64 * 1024 * 1024);
  assert.equal(memoryLimitBytes(100, 0), 12 * GiB);
  assert.equal(memoryLimitBytes(100, Number.NaN), 12 * GiB);
  assert.equal(memoryLimitBytes(Number.NaN, 64 * GiB), 2 * GiB);
});

const base = { archivePath: '/b/x.7z', listFile: '/tmp/l.txt', extraPaths: [] as string[], level: 5, memoryLimit: 2 * GiB };

test('createArgs: bare -p, never a password, and the required switches', () => {
  const a = createArgs({ ...base, extraPaths: ['-dash', ' lead'] });
  assert.equal(a[0], 'a');
  assert.ok(a.includes('-p'));
  assert.equal(a.filter((x) => x.startsWith('-p')).length, 1, 'only the bare -p starts with -p');
  for (const sw of ['-t7z', '-m0=lzma2', '-mx=5', '-mhe=on', '-mmt=on', '-snl', '-spd', '-ssp', '-scsUTF-8', '-sccUTF-8', '-bsp1', '-bb0', '-bso0', `-mmemuse=${2 * GiB}b`]) {
    assert.ok(a.includes(sw), `has ${sw}`);
  }
  assert.ok(!a.some((x) => x.startsWith('-v')), 'no volumes');
  assert.ok(!a.some((x) => x.startsWith('-ms')), 'solid stays default without volumes');
  // Archive, then @list, then -- and the names that a list file would mangle.
  const i = a.indexOf('/b/x.7z');
  assert.deepEqual(a.slice(i), ['/b/x.7z', '@/tmp/l.txt', '--', '-dash', ' lead']);
  assert.ok(!a.includes('-spf'));
});

test('createArgs: volumes in exact bytes with small solid blocks; level 0 is Copy; threads', () => {
  const a = createArgs({ ...base, volumeSize: 65536, level: 0, threads: 3 });
  assert.ok(a.includes('-v65536b'));
  assert.ok(a.includes(SOLID_BLOCK));
  assert.ok(!a.includes('-ms=off'));
  assert.ok(a.includes('-m0=copy'));
  assert.ok(a.includes('-mx=0'));
  assert.ok(a.includes('-mmt=3'));
  assert.ok(!a.includes('--'), 'no -- without extra paths');
  assert.throws(() => createArgs({ ...base, level: 10 }), RangeError);
  assert.throws(() => createArgs({ ...base, volumeSize: 10 }), RangeError);
  assert.throws(() => createArgs({ ...base, archivePath: '-x.7z' }), RangeError);
});

test('testArgs, extractArgs, listArgs: no -p at all, no -spf', () => {
  const t = testArgs({ archive: '/a/x.7z.001' });
  const x = extractArgs({ archive: '/a/x.7z', outDir: '/o', listFile: '/l', extraPaths: ['-n'] });
  const l = listArgs({ archive: '/a/x.7z' });
  for (const args of [t, x, l]) {
    assert.ok(!args.some((s) => s.startsWith('-p')), args.join(' '));
    assert.ok(!args.includes('-spf'));
    assert.ok(args.includes('-sccUTF-8'));
  }
  assert.equal(t[0], 't');
  assert.deepEqual(x.slice(0, 4), ['x', '-aoa', '-o/o', '-spd']);
  assert.deepEqual(x.slice(-4), ['/a/x.7z', '@/l', '--', '-n']);
  assert.deepEqual(l.slice(0, 3), ['l', '-slt', '-ba']);
});

test('ProgressParser: frames separated by backspaces, split across chunks', () => {
  // Captured from 7zz 26.02 (`a -bsp1 -bso0`), \b written as \x08.
  const raw = '  0M Scan \b\b\b\b\b\b\b\b\b\b          \b\b\b\b\b\b\b\b\b\b  0%\b\b\b\b    \b\b\b\b 26% + r.bin\b\b\b\b\b\b\b\b\b\b\b\b            \b\b\b\b\b\b\b\b\b\b\b\b 89% 2 + t.txt\b\b\b\b\b\b\b\b\b\b\b\b\b\b              \b\b\b\b';
  const whole = parseProgress(raw);
  assert.deepEqual(whole, [{ percent: 0 }, { percent: 26, file: 'r.bin' }, { percent: 89, items: 2, file: 't.txt' }]);
  // Every split point gives the same events.
  for (let cut = 0; cut <= raw.length; cut++) {
    const p = new ProgressParser();
    const got = [...p.push(raw.slice(0, cut)), ...p.push(raw.slice(cut)), ...p.end()];
    assert.deepEqual(got, whole, `cut at ${cut}`);
  }
  // Byte-by-byte.
  const p = new ProgressParser();
  const got = [];
  for (const ch of raw) got.push(...p.push(ch));
  got.push(...p.end());
  assert.deepEqual(got, whole);
});

test('ProgressParser: names with spaces, extract/test marks, a frame left at the end', () => {
  const p = new ProgressParser();
  assert.deepEqual(p.push(' 37% 12 - dir/with space.txt\b\b\b 40% T x'), [{ percent: 37, items: 12, file: 'dir/with space.txt' }]);
  assert.deepEqual(p.push(''), []);
  assert.deepEqual(p.end(), [{ percent: 40, file: 'x' }]);
  assert.deepEqual(parseProgress('Enter password (will not be echoed):\n100%\b\b\b\b'), [{ percent: 100 }]);
});

test('isListFileSafe: what 7zz 26.02 list files mangle', () => {
  for (const ok of ['a', 'dir/b c.txt', 'a*b', 'q?x', '#hash', ';semi', '-dash', '@at', 'ünï 日本', '"q2', 'q3"', 'mid"q"x', '\vvt', 'ff\f', '\u00a0nbsp', 'tab\tin']) {
    assert.equal(isListFileSafe(ok), true, JSON.stringify(ok));
  }
  for (const bad of ['', ' lead', 'trail ', '\ttabl', 'tabt\t', 'nl\nmid', 'cr\rmid', 'crend\r', '"quote"', '"', '\uFEFFbom']) {
    assert.equal(isListFileSafe(bad), false, JSON.stringify(bad));
  }
});

test('parseSltListing: files, folders, links, modes, 100 ns mtimes; prompt ignored', () => {
  const text = [
    '',
    'Enter password (will not be echoed):',
    'Path = a',
    'Size = 0',
    'Packed Size = 0',
    'Modified = 2026-11-29 01:32:17.4029745',
    'Attributes = D drwxr-xr-x',
    'CRC = ',
    '',
    'Path = a/b.txt',
    'Size = 2',
    'Modified = 2024-01-02 03:04:05.1234567',
    'Attributes = A -rwsr-x--T',
    '',
    'Path = lnk',
    'Size = 5',
    'Attributes = A lrwxrwxrwx',
    '',
  ].join('\n');
  const items = parseSltListing(text);
  assert.equal(items.length, 3);
  assert.deepEqual(items[0], { path: 'a', size: 0, isDir: true, mode: 0o755, mtimeNs: 1795915937402974500n });
  assert.deepEqual(items[1], { path: 'a/b.txt', size: 2, isDir: false, mode: 0o5750, mtimeNs: 1704164645123456700n });
  assert.deepEqual(items[2], { path: 'lnk', size: 5, isDir: false, isSymlink: true, mode: 0o777 });
  assert.equal(parseUtcTimestampNs('1970-01-01 00:00:01'), 1_000_000_000n);
  assert.equal(parseUtcTimestampNs('garbage'), undefined);
});

test('extractArgs listItems: -bb1 -bso1 -bsp0 instead of -bb0 -bso0 -bsp1, each switch once', () => {
  const x = extractArgs({ archive: '/a/x.7z', outDir: '/o', listItems: true });
  assert.ok(x.includes('-bb1') && x.includes('-bso1') && x.includes('-bsp0') && !x.includes('-bb0') && !x.includes('-bso0') && !x.includes('-bsp1'), x.join(' '));
  const plain = extractArgs({ archive: '/a/x.7z', outDir: '/o' });
  assert.ok(plain.includes('-bb0') && plain.includes('-bso0') && !plain.includes('-bb1'), plain.join(' '));
});

test('ItemLines: the `- path` lines of 7zz x -bb1 between erased progress frames, split across chunks', () => {
  // As 7zz 26.02 writes them (measured): frame, backspaces, blanks, backspaces, then the item line.
  const out = ' 8% 1\b\b\b\b\b     \b\b\b\b\b- bin/blob10.bin\n 12% 2\b\b\b\b\b\b      \b\b\b\b\b\b- small/d0/f 1.txt\n 44% 3';
  const lines = new ItemLines();
  const names = [...lines.push('Extracting archive: /a/x.7z.001\n--\nPath = /a/x.7z.001\n'), ...lines.push(out.slice(0, 30)), ...lines.push(out.slice(30)), ...lines.push('\b\b\b- last\nEverything is Ok\n')];
  assert.deepEqual(names, ['bin/blob10.bin', 'small/d0/f 1.txt', 'last']);
});
