/**
 * End to end: "Restoring with stock tools only". For each strategy (direct, grouped, sliding), and a set of
 * several archives (media stored, the rest in two LZMA2 archives: core/parts), a real
 * set is made with `strata backup`, volumes are damaged (one deleted, one with flipped bytes; for
 * sliding windows two lost in one window, one of them in an overlap, so the retry rule of RESTORE.txt
 * is needed), and then RESTORE.txt is followed literally with nothing but par2 and 7zz: its par2
 * verify and repair lines and its 7zz lines are run as written through `sh -c` inside the set folder,
 * the password given on 7zz's standard input. The extracted tree must equal the source, and the
 * extracted manifest must list every file with its SHA-256.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { tempDir } from '../helpers/tmp.js';
import * as path from 'node:path';
import { firstVolumeName, partsOf } from '../../src/core/parts.js';
import {
  PASSWORD, assertSameTree, cli, copyCase, show, deleteVolumes, flipBlocks, makeFixture, makePartsFixture, merge, predict, treeHashes,
  type Fixture, type StrategyName,
} from './damage.js';

/** ShellResult is what one `sh -c` line left behind. */
interface ShellResult {
  code: number;
  out: string;
}

/** sh runs one line of RESTORE.txt as a person would type it, in the set folder. */
function sh(line: string, cwd: string, input = ''): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    // A clean environment apart from PATH: nothing of strata's is there to help.
    const child = spawn('sh', ['-c', line], { cwd, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, LANG: 'C.UTF-8' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    // par2 never reads its input and may be gone before it is closed: that is not a failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** RestoreSteps are the command lines RESTORE.txt gives. */
interface RestoreSteps {
  verify: string[];
  repair: string[];
  /** One `7zz x` line per archive of the set (core/parts). */
  extract: string[];
  manifest: string;
}

/** parseRestoreText picks the command lines out of RESTORE.txt (indented lines starting with par2 / 7zz). */
function parseRestoreText(text: string): RestoreSteps {
  const commands = text.split('\n').filter((l) => /^ {2}(par2|7zz) /.test(l)).map((l) => l.trim());
  const verify = commands.filter((c) => c.startsWith('par2 verify '));
  const repair = commands.filter((c) => c.startsWith('par2 repair '));
  const sevenZip = commands.filter((c) => c.startsWith('7zz x '));
  const extract = sevenZip.filter((c) => !c.includes('.manifest.7z'));
  const manifest = sevenZip.find((c) => c.includes('.manifest.7z'));
  assert.ok(extract.length > 0 && manifest !== undefined, `RESTORE.txt has the 7zz lines:\n${text}`);
  return { verify, repair, extract, manifest };
}

/** damageFor deletes one volume and flips bytes in another (sliding: two lost in window 1, one in its overlap with window 2). */
async function damageFor(fx: Fixture, setDir: string): Promise<Map<number, number>> {
  const c = { dest: path.dirname(setDir), setDir, out: '', state: '' };
  const units = fx.plan.units;
  if (fx.strategy === 'sliding') {
    const second = new Set(units[1]?.volumes ?? []);
    const shared = (units[0]?.volumes ?? []).find((v) => second.has(v)) ?? -1;
    const own = (units[0]?.volumes ?? []).find((v) => !second.has(v) && v !== 0) ?? -1;
    return merge(fx, await deleteVolumes(fx, c, [own]), await flipBlocks(fx, c, [[shared, 1], [shared, 3], [shared, 7]]));
  }
  const last = units[units.length - 1];
  const deleted = units[0]?.volumes[1] ?? 1;
  const flipped = last?.volumes[(last.volumes.length >> 1)] ?? 2;
  return merge(fx, await deleteVolumes(fx, c, [deleted]), await flipBlocks(fx, c, [[flipped, 1], [flipped, 4]]));
}

/** extractAll runs every `7zz x` line of Step 2 in order (the password on standard input); they all name one output folder, returned. */
async function extractAll(steps: RestoreSteps, setDir: string): Promise<string> {
  const outDirs = new Set(steps.extract.map((l) => /-o(\S+)/.exec(l)?.[1]));
  assert.equal(outDirs.size, 1, `one output folder: ${steps.extract.join('\n')}`);
  const [outDir] = [...outDirs];
  assert.ok(outDir !== undefined, steps.extract.join('\n'));
  for (const line of steps.extract) {
    const x = await sh(line, setDir, `${PASSWORD}\n`);
    assert.equal(x.code, 0, `${line}\n${x.out}`);
  }
  return path.resolve(setDir, outDir);
}

/**
 * damageParts loses one whole volume of each part of a parts set (two LZMA2 archives and a stored
 * one), as far as the plan guarantees: the middle volume of each part, deleted for the first
 * parts and flipped in the last.
 */
async function damageParts(fx: Fixture, setDir: string): Promise<Map<number, number>> {
  const c = { dest: path.dirname(setDir), setDir, out: '', state: '' };
  const parts = partsOf(fx.descriptor);
  assert.equal(parts.length, 3);
  const pick = parts.map((p) => p.first + (p.volumes >> 1));
  const last = pick.pop() ?? 0;
  return merge(fx, await deleteVolumes(fx, c, pick), await flipBlocks(fx, c, [[last, 0], [last, 1]]));
}

const STRATEGIES: readonly (StrategyName | 'parts')[] = ['direct', 'grouped', 'sliding', 'parts'];

describe('RESTORE.txt followed literally with par2 and 7zz alone', { concurrency: 4 }, () => {
  for (const label of STRATEGIES) {
    const title =
      label === 'parts'
        ? 'parts (media stored, two LZMA2 archives): a lost volume of each archive repaired by its par2 lines, every archive extracted by its 7zz line'
        : `${label}: damaged volumes repaired by its par2 lines, extracted by its 7zz line`;
    test(title, async (t) => {
      const started = performance.now();
      const fx = label === 'parts' ? await makePartsFixture(t) : await makeFixture(t, label);
      const c = await copyCase(fx, `${label}-stock`);
      const text = await readFile(path.join(c.setDir, 'RESTORE.txt'), 'utf8');
      const steps = parseRestoreText(text);
      // A verify and a repair line for each unit (group or window), naming the unit's own PAR2 file
      // (RESTORE.txt may add lines for other PAR2 sets, e.g. the manifest's).
      for (const u of fx.plan.units) {
        const file = u.dir === '' ? `${u.name}.par2` : `${u.dir}/${u.name}.par2`;
        assert.ok(steps.verify.some((l) => l.endsWith(` ${file}`)), `a verify line for ${file}\n${text}`);
        assert.ok(steps.repair.some((l) => l.endsWith(` ${file}`)), `a repair line for ${file}\n${text}`);
      }
      assert.ok(text.includes(`7zz x ${fx.descriptor.volumes[0]?.name ?? '?'} `), text);
      // The retry rule this test follows below is written in RESTORE.txt itself where there are several PAR2 sets.
      const retryRule = /If a repair\s+line says it needs more recovery blocks, run the other repair lines, then that one again/;
      if (fx.plan.units.length > 1) assert.match(text, retryRule);
      else assert.doesNotMatch(text, retryRule);

      if (label === 'parts') for (const p of partsOf(fx.descriptor)) assert.ok(text.includes(`7zz x ${firstVolumeName(p)} -o../restored-${fx.setId} `), `a 7zz line for ${p.archive}\n${text}`);
      const damage = label === 'parts' ? await damageParts(fx, c.setDir) : await damageFor(fx, c.setDir);
      const p = predict(fx, damage);
      assert.deepEqual(p.unrepaired, [], 'the damage is within the guarantee');
      if (label === 'sliding') assert.ok(p.passes >= 2, 'the sliding damage needs a window retried after its neighbour');

      // Step 1: verify lines report the damage (exit 1 repairable; 2 for a window that needs its neighbour first).
      const verified = await Promise.all(steps.verify.map((l) => sh(l, c.setDir)));
      assert.ok(verified.every((r) => r.code === 0 || r.code === 1 || r.code === 2), verified.map((r) => r.out).join('\n'));
      assert.ok(verified.some((r) => r.code !== 0), 'par2 verify sees the damage');
      // Repair lines in order; a line that needs more recovery blocks is run again after the others, as RESTORE.txt says.
      let pending = [...steps.repair];
      const log: string[] = [];
      for (let pass = 0; pending.length > 0 && pass < steps.repair.length + 1; pass++) {
        const still: string[] = [];
        for (const line of pending) {
          const r = await sh(line, c.setDir);
          log.push(`$ ${line} -> ${r.code}`);
          if (r.code !== 0) {
            assert.equal(r.code, 2, `${line}: only "needs more recovery blocks" may fail\n${r.out}`);
            still.push(line);
          }
        }
        if (still.length === pending.length) break;
        pending = still;
      }
      assert.deepEqual(pending, [], `every repair line succeeded in the end\n${log.join('\n')}`);
      for (const [i, v] of fx.descriptor.volumes.entries()) {
        if (!damage.has(i)) continue;
        const h = (await treeHashes(c.setDir)).get(v.name);
        assert.equal(h, v.sha256, `${v.name} rebuilt byte-identical`);
      }
      for (const l of steps.verify) assert.equal((await sh(l, c.setDir)).code, 0, `${l} after the repair`);

      // Step 2: the 7zz lines as written (one per archive of the set), the password typed on standard input.
      const outDir = await extractAll(steps, c.setDir);
      await assertSameTree(outDir, fx.source, `stock extraction of the ${label} set`);

      // Step 3: the manifest lists every file with its SHA-256.
      const m = await sh(steps.manifest, c.setDir, `${PASSWORD}\n`);
      assert.equal(m.code, 0, `${steps.manifest}\n${m.out}`);
      const mDir = path.resolve(c.setDir, /-o(\S+)/.exec(steps.manifest)?.[1] ?? '');
      const [mFile] = await readdir(mDir);
      assert.ok(mFile !== undefined, 'the manifest archive holds a file');
      const entries = (await readFile(path.join(mDir, mFile), 'utf8')).split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { path?: string; sha256?: string; type?: string });
      const listed = new Map(entries.filter((e) => e.type === 'file' && e.path !== undefined).map((e) => [e.path ?? '', e.sha256 ?? '']));
      assert.deepEqual([...listed].sort(), [...(await treeHashes(fx.source))].sort(), 'the manifest lists every file with its SHA-256');
      process.stderr.write(`# stock restore ${label}: ${Math.round(performance.now() - started)} ms (backup ${Math.round(fx.backupMs)} ms)\n`);
    });
  }
});

test('RESTORE.txt extraction line restores links that go up a folder, dangling links, and absolute ones as 7-Zip documents', async (t) => {
  const root = await tempDir(t, 'strata-stock-links-');
  const source = path.join(root, 'docs');
  await mkdir(path.join(source, 'a'), { recursive: true });
  await mkdir(path.join(source, 'other'));
  await writeFile(path.join(source, 'other', 'file'), 'linked\n');
  await symlink('../other/file', path.join(source, 'a', 'up'));
  await symlink('nowhere/x', path.join(source, 'dangling'));
  await symlink('/etc/hostname', path.join(source, 'abs'));
  const dest = path.join(root, 'dest');
  await mkdir(dest);
  const r = await cli(['--state', path.join(root, 'state'), 'backup', '--source', source, '--dest', dest, '--tier', 'weekly']);
  assert.equal(r.code, 0, show(r));
  const [setId] = (await readdir(dest)).filter((n) => /^\d{6}_FULL_docs/.test(n));
  assert.ok(setId !== undefined, 'the set folder');
  const setDir = path.join(dest, setId);
  const steps = parseRestoreText(await readFile(path.join(setDir, 'RESTORE.txt'), 'utf8'));
  const out = await extractAll(steps, setDir);
  assert.equal(await readlink(path.join(out, 'a', 'up')), '../other/file');
  assert.equal(await readFile(path.join(out, 'a', 'up'), 'utf8'), 'linked\n');
  assert.equal(await readlink(path.join(out, 'dangling')), 'nowhere/x');
  // As RESTORE.txt says: 7-Zip re-roots an absolute target under the output folder.
  assert.equal(await readlink(path.join(out, 'abs')), path.join(out, 'etc', 'hostname'));
});
