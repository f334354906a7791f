/**
 * The volume stream's hold/release rules (core/volume-stream-rules), without 7-Zip: tables of
 * events and the decisions that must follow (which units are certain, which volumes may leave
 * staging, when 7-Zip pauses), and a simulation of many interleavings that checks the staging
 * bound, that nothing deadlocks, and that no volume a PAR2 unit still needs was released.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultProtectionConfig, streamingRanges, streamingReadyAt, streamingStagingBound, type ProtectionConfig } from '../../src/core/protection/index.js';
import { VolumeStreamRules, type PauseAction, type StreamSettings } from '../../src/core/volume-stream-rules.js';

const KiB = 1024;
const V = 64 * KiB;
const table = [{ name: 'all', upTo: null, redundancyPercent: 30 }];
const tiers = { daily: table, weekly: table, monthly: table, yearly: table };
/** Every set sliding: windows of 4 volumes sliding by 2. */
const windows: ProtectionConfig = { ...defaultProtectionConfig, directMaxBytes: 0, groupedMaxBytes: 0, windowSize: 4, windowSlide: 2, tiers };
/** Sets above 256 KiB grouped: fixed groups of 4 (certain once volume 4j + 5 is final). */
const groups: ProtectionConfig = { ...defaultProtectionConfig, directMaxBytes: 256 * KiB, groupedMaxBytes: 1024 * 1024 * KiB, groupSize: 4, tiers };

function settings(protection: ProtectionConfig, maxVolumes: number, estimatedBytes = 40 * V): StreamSettings {
  return { setId: 'S', tier: 'weekly', volumeSize: V, maxVolumes, estimatedBytes, protection };
}

/** Row: events (1-based volume numbers as in file names, `final 3-5`, `up 4`, `made 2`, `exit`), then what the rules decide. */
interface Row {
  events: string;
  /** e: volumes 001 … are final up to this 1-based number (the 0-based finalPrefix + 1). */
  e: number;
  /** Units that became certain: `layout <strategy>; <unit name> …`, '' for none. */
  due: string;
  /** Volumes (1-based) that may be deleted from staging now. */
  released: number[];
  pending: number;
  pause: PauseAction;
}

/** runTable drives the rules as the pipeline does (due after each step, release after each, pause decided last) and checks every row. */
function runTable(rules: VolumeStreamRules, rows: readonly Row[]): void {
  let paused = false;
  let ended = false;
  for (const row of rows) {
    for (const ev of row.events.split(',').map((s) => s.trim())) {
      const [verb, arg = ''] = ev.split(' ');
      const [from, to] = arg.split('-').map(Number);
      const last = to ?? from ?? 0;
      for (let k = from ?? 0; k <= last; k++) {
        if (verb === 'final') rules.volumeFinal(k - 1);
        else if (verb === 'up') rules.volumeUploaded(k - 1);
        else if (verb === 'made') rules.unitMade(k);
        else if (verb === 'exit') {
          rules.sevenZipExited();
          ended = true;
        } else throw new Error(`unknown event ${ev}`);
      }
    }
    const d = rules.due();
    const due = [...(d.layoutFixed === null ? [] : [`layout ${d.layoutFixed.strategy};`]), ...d.units.map((u) => u.unit.name)].join(' ');
    const released = rules.release().map((i) => i + 1);
    const pending = rules.pending();
    const pause = rules.pauseAction(paused, !ended);
    if (pause === 'pause') paused = true;
    if (pause === 'resume') paused = false;
    assert.deepEqual({ events: row.events, e: rules.finalPrefix + 1, due, released, pending, pause }, row);
  }
}

describe('volume stream rules', () => {
  it('sliding windows: a window is certain at its last volume; a volume leaves staging once every window over it is made', () => {
    // size 4, step 2: window j covers 2j … 2j+3 (0-based), certain when volume 2j+3 is final; the
    // open span (a window not yet certain may need it) starts at e + 2 − 4; unit 0 (001–004) is held.
    runTable(new VolumeStreamRules(settings(windows, 2)), [
      { events: 'final 2', e: 2, due: '', released: [], pending: 1, pause: null },
      { events: 'final 3', e: 3, due: '', released: [], pending: 2, pause: 'pause' },
      // Before the layout is fixed every volume is held: uploaded ones are not pending.
      { events: 'up 2-3', e: 3, due: '', released: [], pending: 0, pause: 'resume' },
      { events: 'final 4-6', e: 6, due: 'layout sliding; S_0003-0006', released: [], pending: 3, pause: 'pause' },
      { events: 'up 4-6', e: 6, due: '', released: [], pending: 0, pause: 'resume' },
      { events: 'final 7', e: 7, due: '', released: [], pending: 1, pause: null },
      // 005 is uploaded and below the open span (006 …): pending until windows 1 and 2 are made.
      { events: 'final 8', e: 8, due: 'S_0005-0008', released: [], pending: 3, pause: 'pause' },
      { events: 'made 1', e: 8, due: '', released: [], pending: 3, pause: null },
      { events: 'made 2', e: 8, due: '', released: [5], pending: 2, pause: null },
      { events: 'up 7-8', e: 8, due: '', released: [], pending: 0, pause: 'resume' },
      // Out of order: 010 before 009 moves nothing until 009 is final too.
      { events: 'final 10', e: 8, due: '', released: [], pending: 1, pause: null },
      { events: 'final 9', e: 10, due: 'S_0007-0010', released: [6], pending: 3, pause: 'pause' },
      // After 7-Zip exited nothing is certain or released any more (the end plans the rest).
      { events: 'exit, made 3, up 9-10', e: 10, due: '', released: [], pending: 1, pause: 'resume' },
      { events: 'final 11', e: 11, due: '', released: [], pending: 3, pause: null },
    ]);
  });

  it('fixed groups: a group is certain half a group past its end; its volumes leave staging together once it is made', () => {
    // g = 4: group j covers 4j … 4j+3, certain when volume 4j + 5 (0-based) is final; the open group
    // starts at ⌊(e − 1)/4⌋·4.
    runTable(new VolumeStreamRules(settings(groups, 2)), [
      { events: 'final 2-9', e: 9, due: '', released: [], pending: 8, pause: 'pause' },
      { events: 'final 10', e: 10, due: 'layout grouped; S_0005-0008', released: [], pending: 9, pause: null },
      { events: 'up 2-10', e: 10, due: '', released: [], pending: 4, pause: null },
      { events: 'made 1', e: 10, due: '', released: [5, 6, 7, 8], pending: 0, pause: 'resume' },
      { events: 'final 11-13', e: 13, due: '', released: [], pending: 3, pause: 'pause' },
      { events: 'final 14', e: 14, due: 'S_0009-0012', released: [], pending: 6, pause: null },
      { events: 'made 2', e: 14, due: '', released: [9, 10], pending: 4, pause: null },
      { events: 'up 11-14', e: 14, due: '', released: [11, 12], pending: 0, pause: 'resume' },
    ]);
  });

  it('a set estimated small enough to stay direct keeps every volume and pauses only for uploads', () => {
    runTable(new VolumeStreamRules(settings(groups, 2, 3 * V)), [
      { events: 'final 2', e: 2, due: '', released: [], pending: 1, pause: null },
      { events: 'final 3', e: 3, due: '', released: [], pending: 2, pause: 'pause' },
      { events: 'up 2-3', e: 3, due: '', released: [], pending: 0, pause: 'resume' },
      { events: 'exit, final 1, final 4', e: 4, due: '', released: [], pending: 2, pause: null },
    ]);
  });

  it('7-Zip is never paused once the stream has ended or failed, and a paused one resumes below maxVolumes', () => {
    const rules = new VolumeStreamRules(settings(windows, 1));
    rules.volumeFinal(1);
    assert.equal(rules.pauseAction(false, true), 'pause');
    assert.equal(rules.pauseAction(false, false), null);
    assert.equal(rules.pauseAction(true, false), null);
    rules.volumeUploaded(1);
    assert.equal(rules.pauseAction(true, false), 'resume');
  });

  it('the space to finish locally follows 7-Zip progress, else the scan estimate', () => {
    const rules = new VolumeStreamRules(settings(windows, 2, 10 * V));
    assert.equal(rules.bytesToFinish(0), 10 * V - V + 2 * V);
    for (let i = 1; i <= 3; i++) rules.volumeFinal(i);
    rules.progress(20); // 4 volumes written are 20 %: 20 volumes in all
    assert.equal(rules.bytesToFinish(100), 20 * V - 4 * V + 2 * V + 100);
    assert.equal(rules.volumeCount([7]), 7);
    assert.equal(rules.volumeCount([]), 4);
  });
});

/** mulberry32 is a small seeded PRNG: the simulation is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface SimResult {
  peakAfterLayout: number;
  bound: number | null;
  early: number;
  releasedBeforeEnd: number;
}

/**
 * simulate runs one archive of n volumes the way the pipeline drives the rules: 7-Zip writes
 * volume k+1 (making k final) unless paused, one upload and one PAR2 unit finish at a time, in an
 * order chosen by the seed. It fails on a deadlock, on a unit whose volumes are not all local when
 * it is made (early or at the end), and on staging above streamingStagingBound.
 */
function simulate(protection: ProtectionConfig, maxVolumes: number, n: number, seed: number): SimResult {
  const random = mulberry32(seed);
  const rules = new VolumeStreamRules(settings(protection, maxVolumes, n * V));
  const local = new Set<number>([0]); // volume 001 exists from the start (7-Zip rewrites it last)
  const uploads: number[] = [];
  const units: { j: number; volumes: number[] }[] = [];
  const madeEarly = new Set<string>();
  let writing = 0;
  let paused = false;
  let peak = 0;
  let releasedBeforeEnd = 0;
  const react = (): void => {
    for (const i of rules.release()) {
      assert.ok(local.delete(i), `volume ${i + 1} released twice`);
      releasedBeforeEnd++;
    }
    const a = rules.pauseAction(paused, writing < n - 1);
    if (a !== null) paused = a === 'pause';
    const layout = rules.layout;
    if (layout !== null) peak = Math.max(peak, local.size);
  };
  while (writing < n - 1) {
    const choices: (() => void)[] = [];
    if (!paused) {
      choices.push(() => {
        // 7-Zip starts volume writing+1: volume `writing` is final (volume 001 only at the end).
        const k = writing++;
        local.add(writing);
        if (k === 0) return;
        rules.volumeFinal(k);
        uploads.push(k);
        const due = rules.due();
        for (const u of due.units) {
          const layout = rules.layout;
          assert.ok(layout !== null && streamingReadyAt(layout, u.j) <= rules.finalPrefix, `${u.unit.name} due only once certain`);
          units.push({ j: u.j, volumes: u.unit.volumes });
        }
      });
    }
    const up = uploads[0];
    if (up !== undefined) {
      choices.push(() => {
        uploads.shift();
        assert.ok(local.has(up), `volume ${up + 1} uploaded while present`);
        rules.volumeUploaded(up);
      });
    }
    const unit = units[0];
    if (unit !== undefined) {
      choices.push(() => {
        units.shift();
        for (const v of unit.volumes) assert.ok(local.has(v), `unit ${unit.j} made while volume ${v + 1} is still local`);
        madeEarly.add(unit.volumes.join(','));
        rules.unitMade(unit.j);
      });
    }
    assert.ok(choices.length > 0, `deadlock: 7-Zip paused at volume ${writing + 1} with nothing queued (pending ${rules.pending()})`);
    const pick = choices[Math.floor(random() * choices.length)];
    pick?.();
    react();
  }
  // 7-Zip exits: volume 001 and the last are final now; the rest is planned over the real count.
  rules.sevenZipExited();
  rules.volumeFinal(0);
  rules.volumeFinal(n - 1);
  assert.deepEqual(rules.release(), [], 'nothing is released after 7-Zip exited');
  const layout = rules.layout;
  if (layout === null) {
    assert.equal(releasedBeforeEnd, 0, 'a set without a fixed layout keeps every volume');
    assert.equal(local.size, n);
    return { peakAfterLayout: 0, bound: null, early: 0, releasedBeforeEnd };
  }
  // Units queued but not made yet are made from the local volumes too; every unit of the final plan
  // not made early needs every one of its volumes here.
  for (const u of units) for (const v of u.volumes) assert.ok(local.has(v), `queued unit ${u.j} lost volume ${v + 1}`);
  const queued = new Set(units.map((u) => u.volumes.join(',')));
  for (const [a, b] of streamingRanges(layout, n)) {
    const volumes = Array.from({ length: b - a + 1 }, (_, i) => a + i);
    const key = volumes.join(',');
    if (madeEarly.has(key) || queued.has(key)) continue;
    for (const v of volumes) assert.ok(local.has(v), `the final unit ${a + 1}-${b + 1} needs volume ${v + 1}, which was released`);
  }
  const bound = streamingStagingBound(layout, maxVolumes);
  return { peakAfterLayout: peak, bound, early: madeEarly.size, releasedBeforeEnd };
}

describe('volume stream rules: simulated runs', () => {
  for (const [name, protection] of [['sliding', windows], ['grouped', groups]] as const) {
    it(`${name}: staging stays within streamingStagingBound, no deadlock, no needed volume released (many interleavings)`, () => {
      let runs = 0;
      let releasing = 0;
      for (const maxVolumes of [1, 2, 3]) {
        for (const n of [12, 25, 40]) {
          for (let seed = 1; seed <= 20; seed++) {
            const r = simulate(protection, maxVolumes, n, seed * 7919 + n * 31 + maxVolumes);
            runs++;
            assert.ok(r.bound !== null, `${name} n=${n}: the layout is fixed while archiving`);
            assert.ok(r.peakAfterLayout <= r.bound, `${name} n=${n} max=${maxVolumes} seed=${seed}: ${r.peakAfterLayout} volumes staged, bound ${r.bound}`);
            assert.ok(r.early > 0, `${name} n=${n}: units are made while archiving`);
            if (r.releasedBeforeEnd > 0) releasing++;
          }
        }
      }
      // 7-Zip is paused while maxVolumes are pending, so the set is released as it goes, not kept whole.
      assert.equal(releasing, runs, 'every run released volumes while archiving');
    });
  }
});
