/**
 * `strata replicate` is safe to kill and run again, through the real CLI (issue 10): a replicate
 * SIGKILLed while it copies a set — some of its volumes on the target, its descriptor not yet —
 * leaves a folder that `list --from` never counts as a set and that `restore --from` never uses (it
 * refuses that set, and without --set takes the older complete one); the next replicate finishes
 * it, and every object on the copy has the primary's SHA-256. Also: `list --all-destinations` (which
 * destinations hold each set) and `strata status` (the last replication per destination).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { strata, type CliResult } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { killQuietly, sleep, waitFor } from './robust-util.js';
import { PASSWORD, assertSameTree, cli, day, jsonOf, listTree, snapshot } from './util.js';

interface ListJson {
  sets: { id: string }[];
  incomplete: string[];
}

/** hashesOf maps every object of a set folder (not its `.pending` marker) to its SHA-256. */
async function hashesOf(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const rel of await listTree(dir)) {
    const full = path.join(dir, rel);
    if ((await fsp.stat(full)).isFile() && !rel.endsWith('.pending')) out.set(rel, createHash('sha256').update(await fsp.readFile(full)).digest('hex'));
  }
  return out;
}

/** volumesIn counts the volumes (`<id>.7z.NNN`) already in a set folder. */
function volumesIn(dir: string): number {
  try {
    return fs.readdirSync(dir).filter((n) => /\.7z\.\d{3}$/.test(n)).length;
  } catch {
    return 0;
  }
}

test('replicate SIGKILLed mid-copy: the unfinished set is never counted or restored; the rerun completes it, byte-identical', { timeout: 240_000 }, async (t) => {
  const root = await tempDir(t, 'strata-replicate-kill-');
  const [src, nas, second, state] = ['docs', 'nas', 'second', 'state'].map((n) => path.join(root, n)) as [string, string, string, string];
  const config = path.join(root, 'strata.yaml');
  for (const d of [src, nas, second]) await fsp.mkdir(d, { recursive: true });
  const writeConfig = (more = ''): Promise<void> =>
    fsp.writeFile(
      config,
      `job: k\nsources: [{ path: ${JSON.stringify(src)}, name: docs }]\n` +
        `destinations:\n  - { name: nas, path: ${JSON.stringify(nas)} }\n  - { name: second, path: ${JSON.stringify(second)} }\n${more}` +
        'archive: { weekly: { level: 0, volumeSize: 64KiB }, daily: { level: 0, volumeSize: 64KiB } }\n',
    );
  await writeConfig();
  const run = (args: string[], expect = 0): Promise<CliResult> => cli(['--config', config, '--state', state, ...args], { now: day(1, '12:00:00'), expect, cwd: root });
  // The older set, copied whole; then a newer one of 2 MiB in 64 KiB volumes (about 33 of them).
  await fsp.writeFile(path.join(src, 'note.txt'), 'first\n');
  await fsp.writeFile(path.join(src, 'a.bin'), randomBytes(64 * 1024));
  const older = jsonOf<{ sources: { setId: string }[] }>(await cli(['--config', config, '--state', state, '--json', 'backup', '--tier', 'weekly'], { now: day(0), cwd: root })).sources[0]?.setId ?? '';
  const olderTree = await snapshot(src);
  await run(['replicate']);
  await fsp.writeFile(path.join(src, 'note.txt'), 'second\n');
  await fsp.writeFile(path.join(src, 'big.bin'), randomBytes(2 * 1024 * 1024));
  const newer = jsonOf<{ sources: { setId: string }[] }>(await cli(['--config', config, '--state', state, '--json', 'backup', '--tier', 'daily'], { now: day(1), cwd: root })).sources[0]?.setId ?? '';
  const volumes = volumesIn(path.join(nas, newer));
  assert.ok(volumes >= 20, `the newer set has ${volumes} volumes`);

  // Killed (stopped first, so nothing more is written) once a few of the newer set's volumes are on `second`.
  let pid: number | undefined;
  const killed = strata(['--config', config, '--state', state, 'replicate'], { env: { STRATA_PASSWORD: PASSWORD, STRATA_NOW: day(1, '12:00:00') }, cwd: root, onSpawn: (c) => (pid = c.pid) });
  const hit = await waitFor(() => (volumesIn(path.join(second, newer)) >= 3 ? true : undefined), 120_000, 1);
  const p = pid;
  assert.ok(p !== undefined, 'strata did not start');
  killQuietly(p, 'SIGSTOP');
  killQuietly(p, 'SIGKILL');
  const k = await killed;
  assert.ok(hit === true, `the copy never got to the newer set's volumes: ${k.stderr}`);
  assert.equal(k.signal, 'SIGKILL');
  await sleep(50);
  const reached = volumesIn(path.join(second, newer));
  assert.ok(reached >= 3 && reached < volumes, `killed with ${reached} of ${volumes} volumes on second`);
  assert.equal(fs.existsSync(path.join(second, newer, `${newer}.strata.json`)), false, 'the descriptor was not written before the kill');

  // Not counted (list --from second, with which destinations hold each set: the cut copy holds nothing), never restored from.
  interface AllJson extends ListJson { destination: string; destinations: string[]; sets: { id: string; destinations: string[] }[]; elsewhere: { id: string; destinations: string[] }[]; unreadable: unknown[] }
  const listed = jsonOf<AllJson>(await run(['--json', 'list', '--all-destinations', '--from', 'second']));
  assert.deepEqual(listed.sets.map((x) => [x.id, x.destinations]), [[older, ['nas', 'second']]]);
  assert.ok(listed.incomplete.includes(newer), `the cut set is listed as incomplete: ${JSON.stringify(listed)}`);
  assert.deepEqual([listed.destination, listed.destinations, listed.elsewhere, listed.unreadable], ['second', ['nas', 'second'], [{ id: newer, destinations: ['nas'] }], []]);
  const refused = await run(['restore', '--from', 'second', '--set', newer, '--to', path.join(root, 'out-refused')], 1);
  assert.match(refused.stderr, new RegExp(`no complete set ${newer}`));
  assert.equal(fs.existsSync(path.join(root, 'out-refused', 'big.bin')), false);
  await run(['restore', '--from', 'second', '--to', path.join(root, 'out-older')]);
  assertSameTree(await snapshot(path.join(root, 'out-older')), olderTree);

  // list says which destination it shows; --all-destinations which destinations hold each set.
  const plain = await run(['list']);
  assert.match(plain.stderr, /these are the sets on nas, one of 2 destinations \(nas, second\); --from NAME lists another, --all-destinations shows which hold each set/);
  const everywhere = await run(['list', '--all-destinations']);
  assert.match(everywhere.stdout, /^SET .* ON +PROTECTION/m);
  assert.match(everywhere.stdout, new RegExp(`^${older} .* nas,second +`, 'm'));
  assert.match(everywhere.stdout, new RegExp(`^${newer} .* nas +`, 'm'));

  // The rerun continues the folder (the killed run's lock and marker are dead) and completes it.
  const again = jsonOf<{ destinations: { name: string; copied: string[]; present: number; failed: unknown[] }[] }>(await run(['--json', 'replicate']));
  assert.deepEqual(again.destinations.map((d) => [d.name, d.copied, d.present, d.failed.length]), [['second', [newer], 1, 0]]);
  for (const id of [older, newer]) assert.deepEqual(await hashesOf(path.join(second, id)), await hashesOf(path.join(nas, id)), `set ${id}: objects differ`);
  const leftovers = (await listTree(second)).filter((rel) => rel.endsWith('.pending') || path.basename(rel).startsWith('.strata-tmp-'));
  assert.deepEqual(leftovers, [], 'markers or temporaries remain on second');
  assert.deepEqual(jsonOf<ListJson>(await run(['--json', 'list', '--from', 'second'])).sets.map((s) => s.id), [older, newer]);

  // strata status tells the last replication per destination from the run log; a failed one makes it exit 4 (ATTENTION).
  interface StatusJson { replication: { destination: string; last: { command: string; copied: number; failed: number; error: string | null } | null }[]; warnings: string[] }
  const ok = jsonOf<StatusJson>(await run(['--json', 'status']));
  assert.deepEqual(ok.replication.map((r) => [r.destination, r.last?.command, r.last?.copied, r.last?.failed, r.last?.error]), [['second', 'replicate', 1, 0, null]]);
  assert.deepEqual(ok.warnings, []);
  await writeConfig(`  - { name: gone, path: ${JSON.stringify(path.join(root, 'gone'))} }\n`);
  await run(['replicate', '--to', 'gone'], 10);
  const bad = await run(['status'], 4);
  assert.match(bad.stdout, /replication to second: .* OK, copied 1 set \(replicate\)/);
  assert.match(bad.stdout, /replication to gone: .* FAILED, copied 0 sets \(replicate\)/);
  assert.match(bad.stdout, /WARNING: the last replication to gone \(.*, replicate\) failed: .*; strata replicate --to gone tries again/);
});
