/**
 * A second provider end to end (issue 10) on two local destinations of one config (`destinations:`):
 * `strata replicate` copies every complete set the other lacks (identical bytes, list --from shows
 * them, a second run copies nothing); a replicate whose uploads fail midway (a fault-injecting
 * Backend) leaves an unfinished folder that list never counts, and the next run finishes it,
 * uploading only what was missing; `replicate: after-backup` copies the new set after a backup,
 * and the set that backup promoted (new descriptor and recovery files);
 * and with volumes, recovery files and a manifest gone from the primary beyond PAR2's reach, a
 * restore takes them from the other destination, says so, and is exact — while a restore of the
 * primary alone (--dest) fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Backend } from '../../src/backend/backend.js';
import { openBackend } from '../../src/backend/open.js';
import { FaultyBackend } from '../../src/backend/wrappers.js';
import { machineIdentity } from '../../src/config/machine.js';
import { setCopyObjects } from '../../src/core/replicate.js';
import { DEFAULT_RETENTION } from '../../src/core/retention.js';
import { runReplicate, type Endpoint } from '../../src/pipeline/replicate.js';
import { Repository } from '../../src/repository/repository.js';
import type { Output, Progress } from '../../src/ui/output.js';
import { tempDir } from '../helpers/tmp.js';
import { PASSWORD, assertSameTree, cli, day, jsonOf, listTree, snapshot, type Snapshot } from './util.js';

interface ReplicateJson {
  destinations: { name: string; copied: string[]; present: number; failed: { id: string }[]; bytes: number }[];
  exitCode: number;
}
interface ListJson {
  sets: { id: string }[];
  incomplete: string[];
}

const quiet: Output = {
  json: false, verbosity: 'normal', result: () => undefined, summary: () => undefined, data: () => undefined, info: () => undefined, verbose: () => undefined, warn: () => undefined,
  progress: (): Progress => ({ update: () => undefined, done: () => undefined }),
};

/** filesOf maps each file under a folder (relative path) to its bytes, without `.pending` markers. */
async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const rel of await listTree(dir)) {
    const full = path.join(dir, rel);
    if ((await fsp.stat(full)).isFile() && !rel.endsWith('.pending')) out.set(rel, await fsp.readFile(full));
  }
  return out;
}

async function assertSameSets(a: string, b: string, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const [x, y] = [await filesOf(path.join(a, id)), await filesOf(path.join(b, id))];
    assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort(), `set ${id}: other objects on ${b}`);
    for (const [k, v] of x) assert.ok(v.equals(y.get(k) ?? Buffer.alloc(0)), `set ${id}: ${k} differs`);
  }
}

describe('replicate between two local destinations', { concurrency: 1 }, () => {
  let root: string, src: string, nas: string, usb: string, usb2: string, config: string, state: string;
  let sets: string[] = [];
  let expected: Snapshot;
  const run = (args: string[], opts: { now?: string; expect?: number } = {}): ReturnType<typeof cli> => cli(['--config', config, '--state', state, ...args], { now: opts.now ?? day(1, '12:00:00'), expect: opts.expect ?? 0, cwd: root });
  const writeConfig = async (extra: string): Promise<void> => {
    await fsp.writeFile(
      config,
      `job: r\nsources: [{ path: ${JSON.stringify(src)}, name: docs }]\n` +
        `destinations:\n  - { name: nas, path: ${JSON.stringify(nas)} }\n  - { name: usb, path: ${JSON.stringify(usb)}, retention: { daily: 30d } }\n  - { name: usb2, path: ${JSON.stringify(usb2)} }\n` +
        `archive: { weekly: { level: 0, volumeSize: 64KiB }, daily: { level: 0, volumeSize: 64KiB } }\n${extra}`,
    );
  };

  before(async () => {
    root = await tempDir(undefined, 'strata-e2e-replicate-');
    [src, nas, usb, usb2, state] = ['docs', 'nas', 'usb', 'usb2', 'state'].map((n) => path.join(root, n)) as [string, string, string, string, string];
    config = path.join(root, 'strata.yaml');
    for (const d of [src, nas, usb, usb2]) await fsp.mkdir(d, { recursive: true });
    await fsp.mkdir(path.join(src, 'sub'));
    await fsp.writeFile(path.join(src, 'big.bin'), randomBytes(200 * 1024));
    await fsp.writeFile(path.join(src, 'sub', 'note.txt'), 'first\n');
    await writeConfig('');
    const full = jsonOf<{ sources: { setId: string }[] }>(await run(['--json', 'backup', '--tier', 'weekly'], { now: day(0) }));
    await fsp.writeFile(path.join(src, 'sub', 'note.txt'), 'second\n');
    await fsp.writeFile(path.join(src, 'more.bin'), randomBytes(150 * 1024));
    const incr = jsonOf<{ sources: { setId: string }[] }>(await run(['--json', 'backup', '--tier', 'daily'], { now: day(1) }));
    sets = [full.sources[0]?.setId ?? '', incr.sources[0]?.setId ?? ''];
    expected = await snapshot(src);
  });
  after(async () => {
    await fsp.rm(root, { recursive: true, force: true });
  });

  it('copies every complete set the other destination lacks, identical, and nothing the second time', async () => {
    const r = jsonOf<ReplicateJson>(await run(['--json', 'replicate', '--to', 'usb']));
    assert.deepEqual(r.destinations.map((d) => [d.name, d.copied, d.present, d.failed.length]), [['usb', sets, 0, 0]]);
    await assertSameSets(nas, usb, sets);
    assert.ok((await fsp.readFile(path.join(usb, 'strata-destination.json'))).equals(await fsp.readFile(path.join(nas, 'strata-destination.json'))), 'the replica carries the primary\'s marker');
    assert.deepEqual(jsonOf<ListJson>(await run(['--json', 'list', '--from', 'usb'])).sets.map((s) => s.id), sets);
    const again = jsonOf<ReplicateJson>(await run(['--json', 'replicate', '--to', 'usb']));
    assert.deepEqual(again.destinations.map((d) => [d.copied.length, d.present]), [[0, 2]]);
  });

  it('a replicate cut off midway leaves an unfinished set no one counts; the next run finishes it, uploading only what is missing', async () => {
    const machine = await machineIdentity(state);
    const primary = await openBackend({ kind: 'local', path: nas });
    const faulty = new FaultyBackend(await openBackend({ kind: 'local', path: usb2 })).fail('put', { after: 6, times: Infinity });
    const endpoint = (name: string, backend: Backend): Endpoint => ({ name, backend, policy: DEFAULT_RETENTION });
    const req = { targets: ['usb2'], job: 'r', machine, password: PASSWORD, workDir: path.join(root, 'work'), now: new Date(day(1, '12:00:00')), out: quiet, signal: new AbortController().signal };
    try {
      const cut = await runReplicate({ ...req, endpoints: [endpoint('nas', primary), endpoint('usb2', faulty)] });
      // Puts: the destination marker, the first set's .pending marker, then its volumes: the 7th put and every later one fail.
      assert.equal(cut[0]?.failed.length, 2);
      assert.deepEqual(cut[0]?.copied, []);
      const listed = jsonOf<ListJson>(await run(['--json', 'list', '--from', 'usb2']));
      assert.deepEqual(listed.sets, []);
      assert.ok(listed.incomplete.includes(sets[0] ?? ''), `the cut set is listed as incomplete: ${JSON.stringify(listed)}`);
      const present = (await filesOf(path.join(usb2, sets[0] ?? ''))).size;
      assert.ok(present > 0, 'some objects of the cut set reached the destination');
      // The next run (this process: the marker's writer is gone) continues: only what is missing is uploaded.
      const counting = new FaultyBackend(await openBackend({ kind: 'local', path: usb2 }));
      const done = await runReplicate({ ...req, endpoints: [endpoint('nas', primary), endpoint('usb2', counting)] });
      assert.deepEqual(done[0]?.copied, sets);
      const objects = await Promise.all(sets.map(async (id) => setCopyObjects(await new Repository(primary).readDescriptor(id)).length));
      // per set: its objects not there yet, its marker and its descriptor
      assert.equal(counting.calls.put, objects.reduce((n, k) => n + k + 2, 0) - present);
    } finally {
      await primary.close();
    }
    await assertSameSets(nas, usb2, sets);
    assert.deepEqual(jsonOf<ListJson>(await run(['--json', 'list', '--from', 'usb2'])).sets.map((s) => s.id), sets);
  });

  it('replicate: after-backup copies the new set to every other destination after the backup', async () => {
    await writeConfig('replicate: after-backup\n');
    await fsp.writeFile(path.join(src, 'third.txt'), 'third\n');
    const b = jsonOf<{ sources: { setId: string }[]; replicate: ReplicateJson }>(await run(['--json', 'backup', '--tier', 'daily'], { now: day(2) }));
    const id = b.sources[0]?.setId ?? '';
    // The run also promoted November's last weekly FULL to monthly on the primary: the copies get its new descriptor and recovery files.
    const full = sets[0] ?? '';
    assert.equal((JSON.parse(await fsp.readFile(path.join(nas, full, `${full}.strata.json`), 'utf8')) as { tier: string }).tier, 'monthly');
    assert.deepEqual(b.replicate.destinations.map((d) => [d.name, d.copied]), [['usb', [full, id]], ['usb2', [full, id]]]);
    await assertSameSets(nas, usb, [...sets, id]);
    await assertSameSets(nas, usb2, [...sets, id]);
    await fsp.rm(path.join(src, 'third.txt'));
    await writeConfig('');
    sets = [...sets, id];
  });

  it('restores what the primary lost beyond PAR2 from the other destination, exactly, and says so', async () => {
    const [full, incr] = sets as [string, string];
    // The FULL loses every volume and recovery file; the INCR its manifest, volumes and recovery files.
    for (const id of [full, incr]) {
      for (const rel of await listTree(path.join(nas, id))) {
        if (rel.endsWith('.strata.json') || rel === 'RESTORE.txt' || (id === full && rel.includes('.manifest.7z'))) continue;
        await fsp.rm(path.join(nas, id, rel), { recursive: true, force: true });
      }
    }
    // Without the other destination: the primary alone cannot (its manifest is gone, with its PAR2
    // set: the set is damaged beyond repair, exit 13).
    const alone = await cli(['--config', config, '--state', path.join(root, 'fresh-1'), 'restore', '--set', incr, '--dest', nas, '--to', path.join(root, 'out-alone')], { now: day(3), expect: 13, cwd: root });
    assert.match(alone.stderr, /the manifest of set .* is missing on the destination and its PAR2 files could not rebuild it \(.*manifest\.7z on .* does not exist\)/);
    const r = await cli(['--config', config, '--state', path.join(root, 'fresh-2'), 'restore', '--set', incr, '--to', path.join(root, 'out')], { now: day(3), cwd: root });
    assert.match(r.stderr, new RegExp(`set ${incr}: its manifest is damaged or missing beyond repair here; took it from destination usb`));
    assert.match(r.stderr, new RegExp(`set ${full}: ${full}\\.7z\\.001 is missing or damaged beyond PAR2 repair here; took it from destination usb`));
    assertSameTree(await snapshot(path.join(root, 'out')), expected);
  });
});
