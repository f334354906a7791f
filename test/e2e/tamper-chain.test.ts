/**
 * Issue 7, §4 and §5 through the real CLI: verify tells the truth about restorability (a chain
 * whose base is gone or damaged is DAMAGED, and list marks it), and a tampered or odd destination
 * gives clear answers, never a crash: descriptors with bad fields (kdf.N=3, a huge N), a zeroed
 * password check, a tampered set offered as a base, a replaced RESTORE.txt, and two runs that pick
 * the same set name at once.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { strata, type CliResult } from '../helpers/cli.js';
import { makeRig, setFolders, show, writeTree, type Rig } from './robust-util.js';
import { day } from './util.js';
import { sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';

const PASSWORD = 'tamper-Pässwort-42';

interface ListRow {
  id: string;
  source: string;
  type: string;
  restorable: boolean;
  chainProblems: { id: string; reason: string }[];
}

interface Fixture { root: string; rig: Rig; full: string; incr: string; other: string; at: (dest: string) => Rig; copy: (name: string) => Promise<string> }

let fixture: Promise<Fixture> | undefined;
let fixtureRoot: string | undefined;
after(async () => {
  if (fixtureRoot !== undefined) await fsp.rm(fixtureRoot, { recursive: true, force: true });
});

/**
 * setup gives the fixture every test of this file starts from, made once: a FULL (day 0) and a
 * daily INCR (day 1) of one source, and a FULL of a second source. Tests never change its
 * destination or state: each works on its own copy of the destination (copy) with its own state
 * folder (at), and a test that changes the source puts it back.
 */
function setup(): Promise<Fixture> {
  fixture ??= makeFixture();
  return fixture;
}

async function makeFixture(): Promise<Fixture> {
  const root = await tempDir(undefined, 'strata-tamper-');
  fixtureRoot = root;
  const src = path.join(root, 'docs');
  const mail = path.join(root, 'mail');
  await writeTree(src, { 'a.txt': 'alpha\n', 'sub/b.txt': 'bravo '.repeat(1000), 'c.bin': Buffer.alloc(5000, 7) });
  await writeTree(mail, { 'inbox.txt': 'mail\n' });
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state: path.join(root, 'state'), password: PASSWORD });
  await fsp.mkdir(rig.dest);
  const r1 = await rig.backup('weekly', [], { env: { STRATA_NOW: day(0) } });
  assert.equal(r1.code, 0, show(r1));
  await fsp.writeFile(path.join(src, 'a.txt'), 'alpha changed\n');
  const r2 = await rig.backup('daily', [], { env: { STRATA_NOW: day(1) } });
  assert.equal(r2.code, 0, show(r2));
  const r3 = await rig.run(['backup', '--tier', 'weekly', '--source', mail, '--dest', rig.dest], { env: { STRATA_NOW: day(1, '10:00:00') } });
  assert.equal(r3.code, 0, show(r3));
  const ids = (await setFolders(rig.dest)).map((s) => s.id);
  const full = ids.find((i) => i.includes('FULL_docs'));
  const incr = ids.find((i) => i.includes('INCR_docs'));
  const other = ids.find((i) => i.includes('FULL_mail'));
  assert.ok(full !== undefined && incr !== undefined && other !== undefined, `sets: ${ids.join(' ')}`);
  const copy = async (name: string): Promise<string> => {
    const d = path.join(root, name);
    await fsp.cp(rig.dest, d, { recursive: true });
    return d;
  };
  // Each copy gets its own state folder: no cached manifest may hide what the destination holds.
  // It keeps the machine id: the same machine, whose sets are the bases of its next INCR.
  let n = 0;
  const at = (dest: string): Rig => {
    const state = path.join(root, `state-${n++}`);
    fs.mkdirSync(state, { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(root, 'state', 'machine-id'), path.join(state, 'machine-id'));
    return makeRig({ src, dest, state, password: PASSWORD });
  };
  return { root, rig, full, incr, other, at, copy };
}

function descFile(dest: string, id: string): string {
  return path.join(dest, id, `${id}.strata.json`);
}

async function editDescriptor(dest: string, id: string, edit: (d: Record<string, unknown>) => void): Promise<void> {
  const d = JSON.parse(await fsp.readFile(descFile(dest, id), 'utf8')) as Record<string, unknown>;
  edit(d);
  await fsp.writeFile(descFile(dest, id), JSON.stringify(d, null, 2) + '\n');
}

function out(r: CliResult): string {
  return r.stdout + r.stderr;
}

async function listJson(rig: Rig): Promise<{ sets: ListRow[]; problems: { id: string; message: string }[] }> {
  const r = await rig.run(['list', '--dest', rig.dest, '--json']);
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout) as { sets: ListRow[]; problems: { id: string; message: string }[] };
}

function noStackTrace(r: CliResult): void {
  assert.doesNotMatch(out(r), /\n\s+at .+\(.+:\d+:\d+\)|RangeError|TypeError/, `a stack trace or a raw exception:\n${show(r)}`);
}

test('§4 verify checks the whole chain: an INCR whose FULL base is deleted or damaged is DAMAGED, naming the base; list marks it', { timeout: 300_000 }, async () => {
  const { full, incr, other, at, copy } = await setup();

  // 1. The FULL base deleted: verify (newest per source) said OK, restore then failed with 13.
  const gone = at(await copy('base-gone'));
  await fsp.rm(path.join(gone.dest, full), { recursive: true });
  const v = await gone.verify([]);
  assert.equal(v.code, 13, show(v));
  assert.match(out(v), new RegExp(`${incr}: DAMAGED`), show(v));
  assert.match(out(v), new RegExp(`${full}.*missing|missing.*${full}`), show(v));
  // The other source's set is still fine, and said so.
  assert.match(out(v), new RegExp(`${other}: OK`), show(v));
  const vj = await gone.run(['verify', '--dest', gone.dest, '--json']);
  assert.equal(vj.code, 13, show(vj));
  const restore = await gone.restore(path.join(gone.dest, '..', 'restored-gone'), ['--source', 'docs']);
  assert.equal(restore.code, 13, show(restore));
  // list marks the broken chain, in text and in --json.
  const l = await listJson(gone);
  const row = l.sets.find((s) => s.id === incr);
  assert.equal(row?.restorable, false, JSON.stringify(l));
  assert.deepEqual(row.chainProblems.map((p) => p.id), [full]);
  assert.equal(l.sets.find((s) => s.id === other)?.restorable, true);
  const lt = await gone.run(['list', '--dest', gone.dest]);
  assert.equal(lt.code, 0, show(lt));
  assert.match(lt.stdout, new RegExp(`${incr}.*(BROKEN|cannot be restored).*${full}`), show(lt));

  // 2. The FULL base present, but a volume of it gone and its PAR2 files too: beyond repair.
  const damaged = at(await copy('base-damaged'));
  for (const n of await fsp.readdir(path.join(damaged.dest, full))) {
    if (/\.7z\.001$|\.par2$/.test(n)) await fsp.rm(path.join(damaged.dest, full, n), { recursive: true });
  }
  const vd = await damaged.verify([]);
  assert.equal(vd.code, 13, show(vd));
  assert.match(out(vd), new RegExp(`${incr}: DAMAGED`), show(vd));
  assert.match(out(vd), new RegExp(`needs set ${full}`), show(vd));

  // 3. The FULL base's descriptor tampered with: the INCR cannot be trusted to restore either.
  const tampered = at(await copy('base-tampered'));
  await editDescriptor(tampered.dest, full, (d) => {
    (d['stats'] as Record<string, number>)['files'] = 999;
  });
  const vt = await tampered.verify([]);
  assert.equal(vt.code, 13, show(vt));
  assert.match(out(vt), new RegExp(`${incr}: DAMAGED`), show(vt));
  assert.match(out(vt), new RegExp(`${full}: TAMPERED`), show(vt));

  // 4. Intact: verify of the newest sets also checked the FULL base, and all is OK.
  const intact = at(await copy('intact'));
  const vo = await intact.verify([]);
  assert.equal(vo.code, 0, show(vo));
  assert.match(out(vo), new RegExp(`${full}: OK`), show(vo));
  // The remote mode checks the chain too.
  const rg = await gone.verify(['--remote']);
  assert.equal(rg.code, 13, show(rg));
  assert.match(out(rg), new RegExp(`${full}.*missing|missing.*${full}`), show(rg));
});

test('§5a a descriptor with kdf.N=3, a huge N or other bad fields is TAMPERED (exit 13), never a crash; the other sets still work', { timeout: 300_000 }, async () => {
  const { root, incr, other, full, at, copy } = await setup();
  for (const [name, edit] of [
    ['n3', (d: Record<string, unknown>) => ((d['kdf'] as Record<string, unknown>)['N'] = 3)],
    ['nhuge', (d: Record<string, unknown>) => ((d['kdf'] as Record<string, unknown>)['N'] = 2 ** 40)],
    ['rhuge', (d: Record<string, unknown>) => ((d['kdf'] as Record<string, unknown>)['r'] = 1e9)],
    ['volsize', (d: Record<string, unknown>) => ((d['volumes'] as Record<string, unknown>[])[0]!['size'] = -5)],
  ] as const) {
    const rig = at(await copy(`bad-${name}`));
    await editDescriptor(rig.dest, other, edit);
    // list: exit 0, the bad set shown as a problem that names it.
    const l = await listJson(rig);
    assert.ok(l.problems.some((p) => p.id === other && /tamper|invalid/i.test(p.message)), `${name}: ${JSON.stringify(l.problems)}`);
    // verify of that set: TAMPERED, exit 13, naming the set.
    const v = await rig.verify(['--set', other]);
    noStackTrace(v);
    assert.equal(v.code, 13, `${name}: ${show(v)}`);
    assert.match(out(v), new RegExp(`${other}.*TAMPERED|TAMPERED.*${other}|${other}.*tampered`, 'i'), show(v));
    // restore of that set: exit 13, a clear message.
    const rs = await rig.restore(path.join(root, `r-${name}`), ['--set', other]);
    noStackTrace(rs);
    assert.equal(rs.code, 13, `${name}: ${show(rs)}`);
    assert.match(out(rs), new RegExp(other), show(rs));
    // restore of another set works.
    const ok = await rig.restore(path.join(root, `ok-${name}`), ['--set', incr]);
    assert.equal(ok.code, 0, show(ok));
    assert.equal(await fsp.readFile(path.join(root, `ok-${name}`, 'a.txt'), 'utf8'), 'alpha changed\n');
    if (name === 'n3') {
      // backup of the same source: no crash, the bad set is not a base (a FULL is made), and docs' chain still works.
      // The same day and tier as the bad set: its name stays taken (its folder is there), so the new set gets another.
      const b = await rig.run(['backup', '--tier', 'weekly', '--source', path.join(root, 'mail'), '--dest', rig.dest], { env: { STRATA_NOW: day(1, '12:00:00') } });
      noStackTrace(b);
      assert.equal(b.code, 0, show(b));
      assert.match(out(b), new RegExp(other), show(b));
      const after = await listJson(rig);
      const mailSets = after.sets.filter((s) => s.source === 'mail');
      assert.deepEqual(mailSets.map((s) => s.type), ['FULL'], JSON.stringify(after.sets));
      const bd = await rig.backup('daily', [], { env: { STRATA_NOW: day(2) } });
      assert.equal(bd.code, 0, show(bd));
      // verify of everything: exit 13 for the bad one only.
      const va = await rig.verify(['--all']);
      assert.equal(va.code, 13, show(va));
      assert.match(out(va), new RegExp(`${full}: OK`), show(va));
    }
  }
});

test('§5b a zeroed password check with the right password is TAMPERED, not WRONG-PASSWORD; a wrong password is still 12', { timeout: 300_000 }, async () => {
  const { root, other, incr, at, copy } = await setup();
  // 1. Only the check field zeroed: the HMAC over the recomputed check proves the password right.
  const rig = at(await copy('check-zeroed'));
  await editDescriptor(rig.dest, other, (d) => (d['check'] = '0'.repeat(64)));
  const v = await rig.verify(['--set', other]);
  assert.equal(v.code, 13, show(v));
  assert.match(out(v), /TAMPERED/, show(v));
  const rs = await rig.restore(path.join(root, 'r-zeroed'), ['--set', other]);
  assert.equal(rs.code, 13, show(rs));
  assert.match(out(rs), /tamper|modified/i, show(rs));
  // 2. The check zeroed and another field edited too: other sets accept the password, so: tampered.
  const rig2 = at(await copy('check-zeroed-and-more'));
  await editDescriptor(rig2.dest, other, (d) => {
    d['check'] = '0'.repeat(64);
    (d['stats'] as Record<string, number>)['files'] = 42;
  });
  const v2 = await rig2.verify(['--set', other]);
  assert.equal(v2.code, 13, show(v2));
  assert.match(out(v2), /TAMPERED/, show(v2));
  const b2 = await rig2.run(['backup', '--tier', 'daily', '--source', path.join(root, 'mail'), '--dest', rig2.dest], { env: { STRATA_NOW: day(2) } });
  assert.equal(b2.code, 0, show(b2));
  // The salt of the edited descriptor (it may have been chosen by whoever edited it) is not reused by new sets.
  const rig3 = at(await copy('salt-edited'));
  const chosenSalt = Buffer.alloc(16, 0xee).toString('base64');
  await editDescriptor(rig3.dest, other, (d) => ((d['kdf'] as Record<string, unknown>)['salt'] = chosenSalt));
  const b3 = await rig3.run(['backup', '--tier', 'weekly', '--source', path.join(root, 'mail'), '--dest', rig3.dest], { env: { STRATA_NOW: day(2) } });
  assert.equal(b3.code, 0, show(b3));
  const made = (await setFolders(rig3.dest)).map((s) => s.id).filter((id) => id.startsWith('261201_FULL_mail'));
  assert.equal(made.length, 1, JSON.stringify(made));
  const madeDesc = JSON.parse(await fsp.readFile(descFile(rig3.dest, made[0] ?? ''), 'utf8')) as Descriptor;
  assert.notEqual(madeDesc.kdf.salt, chosenSalt, 'the new set took its salt from an edited descriptor');
  // 3. A wrong password is still a wrong password.
  const w = await rig.verify(['--set', incr], { env: { STRATA_PASSWORD: 'not the password' } });
  assert.equal(w.code, 12, show(w));
  const wz = await rig.verify(['--set', other], { env: { STRATA_PASSWORD: 'not the password' } });
  assert.equal(wz.code, 12, show(wz));
});

test('§5c backup never builds an INCR on a tampered base: it makes a FULL and says why', { timeout: 300_000 }, async (t) => {
  const { full, incr, at, copy } = await setup();
  // A base whose own chain is broken (its FULL deleted) is not used either: an INCR on it could never be restored.
  const chainless = at(await copy('chainless-base'));
  await fsp.rm(path.join(chainless.dest, full), { recursive: true });
  const bc = await chainless.backup('daily', [], { env: { STRATA_NOW: day(2) } });
  assert.equal(bc.code, 0, show(bc));
  assert.match(bc.stderr, new RegExp(`${incr}.*${full}.*missing.*FULL`), show(bc));
  const lc = await listJson(chainless);
  assert.deepEqual(lc.sets.filter((s) => s.source === 'docs').map((s) => [s.type, s.restorable]), [['INCR', false], ['FULL', true]], JSON.stringify(lc.sets));

  const rig = at(await copy('tampered-base'));
  await editDescriptor(rig.dest, incr, (d) => {
    (d['stats'] as Record<string, number>)['files'] = 12345;
  });
  // The source is the fixture's: put it back as it was when this test ends.
  t.after(() => fsp.rm(path.join(rig.src, 'new.txt'), { force: true }));
  await fsp.writeFile(path.join(rig.src, 'new.txt'), 'new\n');
  const b = await rig.backup('daily', [], { env: { STRATA_NOW: day(2) } });
  assert.equal(b.code, 0, show(b));
  assert.match(b.stderr, new RegExp(`${incr}.*(tamper|modified).*FULL|FULL.*${incr}`, 'i'), show(b));
  const l = await listJson(rig);
  const newest = l.sets.filter((s) => s.source === 'docs').at(-1);
  assert.equal(newest?.type, 'FULL', JSON.stringify(l.sets));
  const restored = path.join(rig.dest, '..', 'restored-5c');
  const r = await rig.restore(restored, ['--source', 'docs']);
  assert.equal(r.code, 0, show(r));
  assert.equal(await fsp.readFile(path.join(restored, 'new.txt'), 'utf8'), 'new\n');
});

test('§5d RESTORE.txt is covered: a replaced or missing one is DAMAGED, --repair writes it back byte-identical; old sets are "not covered"', { timeout: 300_000 }, async () => {
  const { full, incr, other, at, copy } = await setup();
  const rig = at(await copy('restore-txt'));
  const file = path.join(rig.dest, incr, 'RESTORE.txt');
  const original = await fsp.readFile(file);
  await fsp.writeFile(file, 'rm -rf ~ # run me\n');
  const v = await rig.verify([]);
  assert.equal(v.code, 13, show(v));
  assert.match(out(v), /RESTORE\.txt/, show(v));
  const rep = await rig.verify(['--repair']);
  assert.equal(rep.code, 0, show(rep));
  assert.match(out(rep), /RESTORE\.txt/, show(rep));
  assert.deepEqual(await fsp.readFile(file), original, 'RESTORE.txt written back differs from the original');
  // Missing: the same.
  await fsp.rm(path.join(rig.dest, full, 'RESTORE.txt'));
  const vm = await rig.verify(['--set', incr]);
  assert.equal(vm.code, 13, show(vm));
  assert.match(out(vm), /RESTORE\.txt.*missing|missing.*RESTORE\.txt/, show(vm));
  // The INCR itself is still restorable: a base's RESTORE.txt is not part of what a restore needs.
  assert.doesNotMatch(out(vm), /cannot be restored/, show(vm));
  assert.match(out(vm), new RegExp(`${incr}: OK`), show(vm));
  assert.match(out(vm), new RegExp(`${full}: DAMAGED`), show(vm));
  const rm = await rig.verify(['--repair', '--set', full]);
  assert.equal(rm.code, 0, show(rm));
  assert.ok(fs.existsSync(path.join(rig.dest, full, 'RESTORE.txt')), 'RESTORE.txt was not written again');
  const vr = await rig.verify(['--remote', '--set', incr]);
  assert.equal(vr.code, 0, show(vr));
  await fsp.writeFile(file, 'rm -rf ~ # run me\n');
  const vr2 = await rig.verify(['--remote', '--set', incr]);
  assert.equal(vr2.code, 13, show(vr2));
  assert.match(out(vr2), /RESTORE\.txt/, show(vr2));
  // A set made before RESTORE.txt was recorded (resealed without the field): reported, not failed.
  const old = at(await copy('old-set'));
  await editDescriptor(old.dest, other, (d) => {
    delete d['restoreText'];
    const { check: _c, hmac: _h, ...rest } = d;
    Object.assign(d, sealDescriptor(rest as Omit<Descriptor, 'check' | 'hmac'>, PASSWORD));
  });
  await fsp.writeFile(path.join(old.dest, other, 'RESTORE.txt'), 'anything\n');
  const vo = await old.verify(['--set', other]);
  assert.equal(vo.code, 0, show(vo));
  assert.match(out(vo), /not covered \(made by an older version\)/, show(vo));
});

test('§5e two runs that pick the same set name at once: the loser says another run is writing that set', { timeout: 300_000 }, async (t) => {
  const root = await tempDir(t, 'strata-samename-');
  const src = path.join(root, 'docs');
  // Many small files: the scan takes long enough for both runs to list the destination before
  // either marks its set as pending, so both pick the same name.
  const files: Record<string, string> = {};
  for (let d = 0; d < 20; d++) for (let i = 0; i < 150; i++) files[`d${d}/f${i}.txt`] = `${d}-${i} `.repeat(50);
  await writeTree(src, files);
  let attempt = 0;
  let pair: CliResult[] = [];
  let dest = '';
  // The collision needs both runs to list the destination first: tried again (fresh destination) if one was quicker.
  while (attempt < 4 && !pair.some((r) => r.code !== 0)) {
    attempt++;
    dest = path.join(root, `dest${attempt}`);
    await fsp.mkdir(dest);
    const run = (state: string): Promise<CliResult> =>
      strata(['--state', path.join(root, `${state}${attempt}`), 'backup', '--tier', 'weekly', '--source', src, '--dest', dest], {
        env: { STRATA_PASSWORD: PASSWORD, STRATA_NOW: day(0) },
      });
    pair = await Promise.all([run('state-a'), run('state-b')]);
  }
  const [winner, loser] = [...pair].sort((x, y) => x.code - y.code) as [CliResult, CliResult];
  assert.equal(winner.code, 0, show(winner));
  assert.equal(loser.code, 11, `no collision in ${attempt} attempts:\n${show(loser)}`);
  assert.match(loser.stderr, /another run is writing set \S+ at the same moment/, show(loser));
  assert.match(loser.stderr, /hint:/i, show(loser));
  // The winner's set is complete and verifies; the loser removed nothing of it.
  const sets = await setFolders(dest);
  assert.deepEqual(sets.map((s) => s.complete), [true], JSON.stringify(sets));
  const v = await strata(['--state', path.join(root, `state-a${attempt}`), 'verify', '--dest', dest], { env: { STRATA_PASSWORD: PASSWORD } });
  assert.equal(v.code, 0, show(v));
  assert.ok(fs.existsSync(path.join(dest, sets[0]?.id ?? '', 'RESTORE.txt')));
});
