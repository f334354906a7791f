/**
 * The state folder holds every file name and hash (manifest copies, the audit trail): under the
 * usual umask 022 it must still be private — folders 0700, files without group/other access,
 * git's own files included — and a state folder made by an older strata is fixed on the next run.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { makeRig, show } from './robust-util.js';

/** openToOthers lists every path under dir (dir included) that group or others may access. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const visit = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) found.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) visit(path.join(p, n));
  };
  visit(dir);
  return found;
}

test('under umask 022 the state folder is 0700 and nothing in it is readable by others; an old one is fixed', { timeout: 300_000 }, async (t) => {
  const old = process.umask(0o022);
  t.after(() => process.umask(old));
  const root = await tempDir(t, 'strata-private-');
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
  await fsp.writeFile(path.join(src, 'a.txt'), 'alpha\n');
  await fsp.writeFile(path.join(src, 'sub', 'secret-name.txt'), 'bravo\n');
  const state = path.join(root, 'state');
  const rig = makeRig({ src, dest: path.join(root, 'dest'), state, password: 'private pw' });
  const b = await rig.backup('weekly', [], { env: { STRATA_NOW: '2026-11-02T10:00:00Z' } });
  assert.equal(b.code, 0, show(b));
  assert.equal(fs.statSync(state).mode & 0o777, 0o700, 'the state folder is 0700');
  assert.deepEqual(openToOthers(state), [], 'nothing in the state folder is open to group or others');

  // A state folder an older strata left open: the next run closes it.
  for (const p of [state, path.join(state, 'jobs'), path.join(state, 'jobs', 'default')]) await fsp.chmod(p, 0o755);
  const manifests = path.join(state, 'jobs', 'default', 'manifests');
  for (const n of await fsp.readdir(manifests)) await fsp.chmod(path.join(manifests, n), (await fsp.stat(path.join(manifests, n))).isDirectory() ? 0o755 : 0o644);
  await fsp.writeFile(path.join(src, 'c.txt'), 'charlie\n');
  const d = await rig.backup('daily', [], { env: { STRATA_NOW: '2026-11-03T10:00:00Z' } });
  assert.equal(d.code, 0, show(d));
  assert.deepEqual(openToOthers(state), [], 'the next run made the old state folder private');
  const r = await rig.restore(path.join(root, 'to'));
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(openToOthers(state), [], 'restore keeps it private');
});
