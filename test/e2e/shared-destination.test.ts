/**
 * Two machines, one destination (issue 7, section 3): two laptops whose sources are both named
 * `docs`, both config-free (job `default`), each with its own state folder, back up to one local
 * destination, interleaved over simulated weeks. Each machine's INCR sets chain only onto its own
 * sets, each restores exactly its own data (newest and --at), each audit trail holds only its own
 * file names, and another machine's unfinished set is never touched. A fresh machine sees both and
 * has to pick one (--host, --job); list shows which job and machine made each set.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { sealDescriptor, type Descriptor } from '../../src/core/descriptor.js';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, day, jsonOf, PASSWORD, snapshot, type Snapshot } from './util.js';

const execFileP = promisify(execFile);

interface Machine {
  name: 'A' | 'B';
  src: string;
  state: string;
  /** Set ids this machine made. */
  made: Set<string>;
  /** The source's state after each day's run, by day. */
  states: Map<number, Snapshot>;
}

function stateOf(m: Machine, n: number): Snapshot {
  const s = m.states.get(n);
  assert.ok(s !== undefined, `machine ${m.name} ran on day ${n}`);
  return s;
}

interface ListRow {
  id: string;
  job: string;
  machine: { id: string; host: string } | null;
  base: string | null;
  type: string;
}

describe('one destination shared by two machines', () => {
  it('interleaved daily and weekly runs over two weeks: chains, restores and audit trails stay per machine', async (t) => {
    const root = await tempDir(t, 'strata-shared-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    const machines: Record<'A' | 'B', Machine> = {
      A: { name: 'A', src: path.join(root, 'laptopA', 'docs'), state: path.join(root, 'stateA'), made: new Set(), states: new Map() },
      B: { name: 'B', src: path.join(root, 'laptopB', 'docs'), state: path.join(root, 'stateB'), made: new Set(), states: new Map() },
    };
    for (const m of Object.values(machines)) {
      await fsp.mkdir(m.src, { recursive: true });
      await fsp.writeFile(path.join(m.src, `${m.name.toLowerCase()}-notes.txt`), `notes of ${m.name}\n`);
    }
    const backup = async (m: Machine, n: number, tier: string, time: string): Promise<void> => {
      // Every day changes a file and adds one, with names that tell the machine.
      const p = m.name.toLowerCase();
      await fsp.appendFile(path.join(m.src, `${p}-notes.txt`), `day ${n}\n`);
      await fsp.writeFile(path.join(m.src, `${p}-day${n}.txt`), `${m.name} on day ${n}\n`);
      const r = jsonOf<{ sources: { setId: string | null; type: string }[] }>(
        await cli(['backup', '--json', '--tier', tier, '--source', m.src, '--dest', dest, '--state', m.state], { now: day(n, time) }),
      );
      for (const s of r.sources) if (s.setId !== null) m.made.add(s.setId);
      m.states.set(n, await snapshot(m.src));
    };
    const { A, B } = machines;
    // Sunday: weekly FULL on both (B last); then dailies in alternating order; a second week.
    const schedule: [number, 'weekly' | 'daily', Machine, Machine][] = [
      [0, 'weekly', A, B],
      [1, 'daily', A, B],
      [2, 'daily', B, A],
      [7, 'weekly', B, A],
      [8, 'daily', A, B],
      [9, 'daily', B, A],
    ];
    for (const [n, tier, first, second] of schedule) {
      await backup(first, n, tier, '09:00:00');
      await backup(second, n, tier, '10:00:00');
    }
    assert.equal(A.made.size, schedule.length);
    assert.equal(B.made.size, schedule.length);

    // The three ways machines mixed before (collected, so that one run shows all of them): an INCR
    // based on the other machine's set, a restore returning the other machine's data, and an audit
    // trail naming the other machine's files.
    const fresh = path.join(root, 'stateFresh');
    const mixed: string[] = [];
    const rows = jsonOf<{ sets: ListRow[] }>(await cli(['list', '--json', '--dest', dest, '--state', fresh])).sets;
    assert.equal(rows.length, 2 * schedule.length);
    assert.equal(rows.filter((r) => r.type === 'INCR').length, 8);
    for (const r of rows) {
      const m = A.made.has(r.id) ? A : B;
      assert.ok(m.made.has(r.id), `${r.id} was made by one of the machines`);
      if (r.type === 'INCR' && !(r.base !== null && m.made.has(r.base))) mixed.push(`${r.id} (machine ${m.name}) is based on ${r.base}, not a set of its own machine`);
    }
    // Each machine restores exactly its own data: the newest state, and the state of an earlier day.
    for (const m of [A, B]) {
      const to = path.join(root, `restored${m.name}`);
      await cli(['restore', '--quiet', '--dest', dest, '--state', m.state, '--to', to]);
      const toAt = path.join(root, `restored${m.name}-day2`);
      await cli(['restore', '--quiet', '--at', day(2, '23:00:00'), '--dest', dest, '--state', m.state, '--to', toAt]);
      for (const [dir, n] of [[to, 9], [toAt, 2]] as const) {
        try {
          assertSameTree(await snapshot(dir), stateOf(m, n));
        } catch (e) {
          mixed.push(`machine ${m.name} restored another state than its own of day ${n}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)} ${JSON.stringify([...(await snapshot(dir)).keys()])}`);
        }
      }
    }
    // Each audit trail holds only its own machine's file names.
    for (const m of [A, B]) {
      const audit = path.join(m.state, 'jobs', 'default', 'audit');
      const { stdout: log } = await execFileP('git', ['-C', audit, 'log', '-p'], { env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_PAGER: 'cat' }, maxBuffer: 16 << 20 });
      const own = m.name.toLowerCase();
      const other = own === 'a' ? 'b' : 'a';
      assert.match(log, new RegExp(`"path":"${own}-day9\\.txt"`));
      if (new RegExp(`"path":"${other}-`).test(log)) mixed.push(`the audit trail of machine ${m.name} names files of the other machine`);
    }
    assert.deepEqual(mixed, []);

    // Each machine has its own machine id, private, in its state folder; list shows the job and
    // the machine of every set.
    const idA = (await fsp.readFile(path.join(A.state, 'machine-id'), 'utf8')).trim();
    const idB = (await fsp.readFile(path.join(B.state, 'machine-id'), 'utf8')).trim();
    assert.match(idA, /^[0-9a-f]{32}$/);
    assert.notEqual(idA, idB);
    assert.equal((await fsp.stat(path.join(A.state, 'machine-id'))).mode & 0o777, 0o600);
    for (const r of rows) {
      const m = A.made.has(r.id) ? A : B;
      assert.equal(r.job, 'default');
      assert.deepEqual(r.machine, { id: m === A ? idA : idB, host: hostname() }, `${r.id}: machine`);
    }
    const text = await cli(['list', '--dest', dest, '--state', fresh]);
    assert.match(text.stdout, /JOB/);
    assert.match(text.stdout, /HOST/);
    assert.match(text.stdout, new RegExp(`default +${hostname().slice(0, 12)}`));

    // A fresh machine: two machines' sets of a source named docs in one job — ambiguous, exit 2,
    // nothing restored, every candidate listed with a hint; --host (machine id prefix) picks one.
    const rx = path.join(root, 'rx');
    const amb = await cli(['restore', '--dest', dest, '--state', fresh, '--to', rx], { expect: 2 });
    assert.match(amb.stderr, /several machines/);
    assert.match(amb.stderr, new RegExp(idA.slice(0, 8)));
    assert.match(amb.stderr, new RegExp(idB.slice(0, 8)));
    assert.match(amb.stderr, /--host/);
    await assert.rejects(fsp.access(rx));
    // The host name is the same for both here, so it does not decide; the machine id does.
    await cli(['restore', '--dest', dest, '--state', fresh, '--to', rx, '--host', hostname()], { expect: 2 });
    await cli(['restore', '--quiet', '--dest', dest, '--state', fresh, '--to', rx, '--job', 'default', '--host', idB.slice(0, 8)]);
    assertSameTree(await snapshot(rx), stateOf(B, 9));
    const listA = jsonOf<{ sets: ListRow[] }>(await cli(['list', '--json', '--dest', dest, '--state', fresh, '--host', idA.slice(0, 8)])).sets;
    assert.deepEqual(new Set(listA.map((r) => r.id)), A.made);
    await cli(['restore', '--dest', dest, '--state', fresh, '--to', rx, '--job', 'nosuchjob'], { expect: 10 });

    // An unfinished set of the other machine (its writer gone) is not this machine's to remove.
    const foreign = '261210_FULL_docs';
    await fsp.mkdir(path.join(dest, foreign));
    await fsp.writeFile(path.join(dest, foreign, `${foreign}.7z.001`), 'partial volume');
    await fsp.writeFile(
      path.join(dest, foreign, `${foreign}.pending`),
      JSON.stringify({ host: hostname(), pid: 2 ** 22 + 7, started: day(11, '08:00:00'), job: 'default', machine: { id: idB, host: hostname() } }),
    );
    await backup(A, 11, 'daily', '09:00:00');
    assert.deepEqual((await fsp.readdir(path.join(dest, foreign))).sort(), [`${foreign}.7z.001`, `${foreign}.pending`]);
  });

  it('sets of an older strata (no machine recorded): chained onto only by the machine whose state made them; the machine field is sealed', async (t) => {
    const root = await tempDir(t, 'strata-legacy-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    const srcA = path.join(root, 'A', 'docs');
    const srcB = path.join(root, 'B', 'docs');
    for (const [src, who] of [[srcA, 'A'], [srcB, 'B']] as const) {
      await fsp.mkdir(src, { recursive: true });
      await fsp.writeFile(path.join(src, `${who}.txt`), `${who} v1\n`);
    }
    const run = (src: string, state: string, tier: string, now: string): Promise<{ sources: { setId: string; type: string }[] }> =>
      cli(['backup', '--json', '--tier', tier, '--source', src, '--dest', dest, '--state', state], { now }).then((r) => jsonOf(r));
    const stateA = path.join(root, 'stateA');
    const stateB = path.join(root, 'stateB');
    const full = (await run(srcA, stateA, 'weekly', day(0))).sources[0]?.setId ?? '';
    const day0 = await snapshot(srcA);
    // Make it a set of an older strata: no machine in the descriptor, sealed again with the password.
    const file = path.join(dest, full, `${full}.strata.json`);
    const { machine, check: _c, hmac: _h, ...rest } = JSON.parse(await fsp.readFile(file, 'utf8')) as Descriptor;
    assert.ok(machine !== undefined, 'a new set records its machine');
    await fsp.writeFile(file, JSON.stringify(sealDescriptor(rest, PASSWORD), null, 2));
    // Machine A's state holds the set's manifest: it made the set, and chains onto it.
    await fsp.writeFile(path.join(srcA, 'A.txt'), 'A v2\n');
    const incr = (await run(srcA, stateA, 'daily', day(1))).sources[0];
    assert.equal(incr?.type, 'INCR');
    // Machine B (same job, same source name) cannot prove it: a FULL, and it says why.
    const bRun = await cli(['backup', '--tier', 'daily', '--source', srcB, '--dest', dest, '--state', stateB], { now: day(1, '10:00:00') });
    assert.match(bRun.stderr, /no complete set yet from this machine \(the 2 sets of that job and source on the destination were made by another machine/);
    const rows = jsonOf<{ sets: ListRow[] }>(await cli(['list', '--json', '--dest', dest, '--state', stateB])).sets;
    assert.deepEqual(rows.map((r) => [r.type, r.base, r.machine === null ? 'legacy' : r.machine.id === machine.id ? 'A' : 'B']), [
      ['FULL', null, 'legacy'],
      ['INCR', full, 'A'],
      ['FULL', null, 'B'],
    ]);
    // Each machine restores its own newest state; A reaches back to the legacy set by --at.
    for (const [state, src] of [[stateA, srcA], [stateB, srcB]] as const) {
      const to = path.join(root, `r-${path.basename(state)}`);
      await cli(['restore', '--quiet', '--dest', dest, '--state', state, '--to', to]);
      assertSameTree(await snapshot(to), await snapshot(src));
    }
    const toA0 = path.join(root, 'rA0');
    await cli(['restore', '--quiet', '--at', day(0, '23:00:00'), '--dest', dest, '--state', stateA, '--to', toA0]);
    assertSameTree(await snapshot(toA0), day0);
    // A fresh machine is offered both machines (and the legacy set) and restores none by itself.
    const amb = await cli(['restore', '--dest', dest, '--state', path.join(root, 'fresh'), '--to', path.join(root, 'rx')], { expect: 2 });
    assert.match(amb.stderr, /host unknown \(sets made before strata recorded the machine\)/);
    // The machine is part of the sealed content: a descriptor whose machine was changed is tampered.
    const bSet = rows[2]?.id ?? '';
    const bFile = path.join(dest, bSet, `${bSet}.strata.json`);
    const d = JSON.parse(await fsp.readFile(bFile, 'utf8')) as Descriptor;
    await fsp.writeFile(bFile, JSON.stringify({ ...d, machine: { ...machine } }, null, 2));
    const v = await cli(['verify', '--set', bSet, '--dest', dest, '--state', stateB], { expect: 13 });
    assert.match(v.stderr + v.stdout, /tamper|HMAC/i);
  });
});