/**
 * RESTORE.txt (core/restore-text, rendered for a set by pipeline/restore-file): the stock par2 and
 * 7zz commands a person types for direct, grouped and sliding sets, -snld on the extraction line,
 * the chain of an INCR, and never a password. The stock-restore end-to-end test runs the commands.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultProtectionConfig, manifestUnit, planProtection, volumeFileName, type ProtectionPlan } from '../../src/core/protection/index.js';
import { restoreText } from '../../src/core/restore-text.js';
import { restoreFileText, type RestoreFileInput } from '../../src/pipeline/restore-file.js';

const MiB = 1024 * 1024;
const SHA = 'ab'.repeat(32);

/** setOf is a set of `n` volumes of `size` bytes and its PAR2 plan (the default policy). */
function setOf(id: string, n: number, size: number, type: 'FULL' | 'INCR' = 'FULL', depends: string[] = [id]): { input: RestoreFileInput; plan: ProtectionPlan } {
  const volumeSizes = new Array<number>(n).fill(size);
  const plan = planProtection({ setId: id, tier: 'weekly', volumeSizes }, defaultProtectionConfig);
  const input: RestoreFileInput = {
    id, source: 'docs', tier: type === 'FULL' ? 'weekly' : 'daily', type, created: '2026-11-29T09:00:00.000Z', base: type === 'FULL' ? null : (depends[depends.length - 2] ?? null), depends,
    volumes: volumeSizes.map((s, i) => ({ name: volumeFileName(id, i), size: s, sha256: SHA })),
    manifest: { name: `${id}.manifest.7z`, size: 4096, sha256: SHA },
    manifestProtection: manifestUnit(id, 4096),
    protection: { units: plan.units },
  };
  return { input, plan };
}

/** commandLines are the lines of a RESTORE.txt that run par2 or 7zz, without their indentation. */
function commandLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^(par2|7zz) /.test(l));
}

test('direct set: verify and repair the manifest, then the set, beside the volumes; one 7zz line with -snld', () => {
  const id = '261129_FULL_docs';
  const { input, plan } = setOf(id, 3, 10 * MiB);
  assert.equal(plan.strategy, 'direct');
  const text = restoreFileText(input);
  assert.deepEqual(commandLines(text), [
    `par2 verify -B. ${id}.manifest.par2`,
    `par2 verify -B. ${id}.par2`,
    `par2 repair -B. ${id}.manifest.par2`,
    `par2 repair -B. ${id}.par2`,
    `7zz x ${id}.7z.001 -o../restored-${id} -snld`,
    `7zz x ${id}.manifest.7z -o../manifest-${id}`,
  ]);
  assert.doesNotMatch(text, /several PAR2 sets/, 'one PAR2 set over the volumes: no advice on repair rounds');
  assert.match(text, /7-Zip 20 and newer know\n\s+-snld/);
  assert.match(text, /strata restore --set 261129_FULL_docs --to DIR/);
});

test('grouped set: one verify and repair line per group folder, and the advice to repeat the repair lines', () => {
  const id = '261129_FULL_docs';
  const { input, plan } = setOf(id, 45, 100 * MiB);
  assert.equal(plan.strategy, 'grouped');
  const groups = [`${id}_0001-0020`, `${id}_0021-0045`];
  assert.deepEqual(plan.units.map((u) => u.dir), groups);
  const text = restoreFileText(input);
  assert.deepEqual(commandLines(text), [
    `par2 verify -B. ${id}.manifest.par2`,
    ...groups.map((g) => `par2 verify -B. ${g}/${g}.par2`),
    `par2 repair -B. ${id}.manifest.par2`,
    ...groups.map((g) => `par2 repair -B. ${g}/${g}.par2`),
    `7zz x ${id}.7z.001 -o../restored-${id} -snld`,
    `7zz x ${id}.manifest.7z -o../manifest-${id}`,
  ]);
  assert.match(text, /protected in several PAR2 sets \(groups, or windows that overlap\)/);
});

test('sliding set: one line per overlapping window, in order', () => {
  const id = '261129_FULL_docs';
  const { input, plan } = setOf(id, 120, 100 * MiB);
  assert.equal(plan.strategy, 'sliding');
  const windows = ['0001-0040', '0021-0060', '0041-0080', '0061-0100', '0081-0120'].map((r) => `${id}_${r}`);
  const lines = commandLines(restoreFileText(input));
  assert.deepEqual(lines.filter((l) => l.startsWith('par2 verify')), [`par2 verify -B. ${id}.manifest.par2`, ...windows.map((w) => `par2 verify -B. ${w}/${w}.par2`)]);
  assert.deepEqual(lines.filter((l) => l.startsWith('par2 repair')), [`par2 repair -B. ${id}.manifest.par2`, ...windows.map((w) => `par2 repair -B. ${w}/${w}.par2`)]);
  assert.match(restoreFileText(input), /Windows share volumes/);
});

test('INCR set: names its base and every set needed, oldest first, this one last', () => {
  const id = '261201_INCR_docs';
  const depends = ['261129_FULL_docs', '261130_INCR_docs', id];
  const { input } = setOf(id, 1, MiB, 'INCR', depends);
  const text = restoreFileText(input);
  assert.match(text, /This set holds only what changed since set 261130_INCR_docs\./);
  assert.match(text, /Sets needed \(each has its own folder and RESTORE\.txt beside this one\):\n {2}261129_FULL_docs\n {2}261130_INCR_docs\n {2}261201_INCR_docs \(this set, last\)\n/);
});

test('a set without volumes (nothing changed but the file list) has no 7zz extraction line', () => {
  const text = restoreText({
    id: '261201_INCR_docs', source: 'docs', tier: 'daily', type: 'INCR', created: '2026-12-01T09:00:00.000Z', base: '261129_FULL_docs', depends: ['261129_FULL_docs'],
    volumes: [], manifest: { name: '261201_INCR_docs.manifest.7z', size: 1, sha256: SHA }, par2Commands: [],
  });
  assert.deepEqual(commandLines(text), ['7zz x 261201_INCR_docs.manifest.7z -o../manifest-261201_INCR_docs']);
  assert.match(text, /This set has no archive volumes/);
  assert.match(text, /\(this set has no recovery files\)/);
  assert.doesNotMatch(text, /this set, last/);
});

test('no password in RESTORE.txt: 7zz asks for it, no command carries -p', () => {
  for (const n of [3, 45, 120]) {
    const text = restoreFileText(setOf('261129_FULL_docs', n, 100 * MiB).input);
    const sevenZip = commandLines(text).filter((l) => l.startsWith('7zz '));
    assert.equal(sevenZip.length, 2);
    for (const l of sevenZip) assert.doesNotMatch(l, /\s-p/, l);
    assert.match(text, /the password of the backup \(7-Zip asks for it/);
    assert.doesNotMatch(text, /STRATA_PASSWORD|password:|-p\S/i);
  }
});

test('a set of several archives (core/parts): one 7zz line per archive, into the same folder, each named with what it holds', () => {
  const id = '261207_FULL_docs';
  const { input } = setOf(id, 6, 10 * MiB);
  const names = [`${id}.7z.001`, `${id}.7z.002`, `${id}.p2.7z.001`, `${id}.p3.7z.001`, `${id}.p3.7z.002`, `${id}.p3.7z.003`];
  const parts = [
    { archive: `${id}.7z`, method: 'lzma2' as const, volumes: 2 },
    { archive: `${id}.p2.7z`, method: 'lzma2' as const, volumes: 1 },
    { archive: `${id}.p3.7z`, method: 'copy' as const, volumes: 3 },
  ];
  const text = restoreFileText({ ...input, volumes: input.volumes.map((v, i) => ({ ...v, name: names[i] ?? '' })), parts });
  assert.deepEqual(commandLines(text).filter((l) => l.startsWith('7zz x')), [
    `7zz x ${id}.7z.001 -o../restored-${id} -snld`,
    `7zz x ${id}.p2.7z.001 -o../restored-${id} -snld`,
    `7zz x ${id}.p3.7z.001 -o../restored-${id} -snld`,
    `7zz x ${id}.manifest.7z -o../manifest-${id}`,
  ]);
  assert.match(text, /open the 3 archives of this set, one after the other/);
  assert.match(text, new RegExp(`${id}\\.p3\\.7z: files that do not compress, stored`));
  for (const n of names) assert.match(text, new RegExp(`^  ${n.replace(/\./g, '\\.')}  10485760 bytes`, 'm'), `${n} listed with its size`);
  // One archive (every set before parts): the text is as before.
  assert.doesNotMatch(restoreFileText(input), /archives of this set/);
});
