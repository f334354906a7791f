/**
 * strata report --html: one self-contained page, rendered by a real headless Chromium; the test
 * checks the rendered DOM (sets by tier, chains, warnings) and the screenshot's pixels (each
 * tier's colour is drawn).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { TIER_COLOURS } from '../../src/core/report/html.js';
import { countColour, decodePng } from '../helpers/png.js';
import { tempDir } from '../helpers/tmp.js';
import { cli, day, jsonOf } from './util.js';

const execFileP = promisify(execFile);

async function chromium(args: string[], home: string): Promise<string> {
  const r = await execFileP('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${path.join(home, 'profile')}`, ...args], {
    env: { ...process.env, HOME: home },
    maxBuffer: 64 << 20,
    timeout: 120_000,
  });
  return r.stdout;
}

test('report --html draws every set by tier, its chain and the warnings; Chromium renders it without any network', async (t) => {
  const root = await tempDir(t, 'strata-report-');
  const src = path.join(root, 'docs');
  const dest = path.join(root, 'dest');
  const state = path.join(root, 'state');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'a.txt'), 'alpha\n'.repeat(1000));
  const b = ['--state', state, 'backup', '--source', src, '--dest', dest];
  await cli([...b, '--tier', 'weekly'], { now: day(0) });
  await fsp.writeFile(path.join(src, 'b.txt'), 'beta <script>alert(1)</script>\n');
  await cli([...b, '--tier', 'daily'], { now: day(1) });
  await fsp.writeFile(path.join(src, 'c.txt'), 'gamma\n');
  await cli([...b, '--tier', 'daily'], { now: day(2) });
  await cli([...b, '--tier', 'monthly'], { now: day(3) });

  // Five days after the last set: a stale source is a warning on the page.
  const html = path.join(root, 'out', 'report.html');
  await fsp.mkdir(path.dirname(html));
  const r = await cli(['--state', state, 'report', '--dest', dest, '--html', html], { now: day(8) });
  assert.match(r.stdout, /report written to .*report\.html: 1 source, 4 sets, 1 warning/);
  assert.match(r.stderr, /docs: no complete set for 5 days/);

  const page = await fsp.readFile(html, 'utf8');
  // Self-contained: nothing is fetched from anywhere.
  assert.doesNotMatch(page, /https?:\/\/|<script|<link|<img|@import|url\(/i);
  assert.match(page, /Content-Security-Policy/);

  const json = jsonOf<{ sources: { name: string; sets: { id: string; tier: string; chain: string[] }[] }[]; warnings: string[] }>(
    await cli(['--json', '--state', state, 'report', '--dest', dest], { now: day(8) }),
  );
  const sets = json.sources[0]?.sets ?? [];
  assert.deepEqual(sets.map((s) => s.tier), ['weekly', 'daily', 'daily', 'monthly']);
  assert.deepEqual(sets[2]?.chain, [sets[2]?.id, sets[1]?.id, sets[0]?.id]);

  const home = path.join(root, 'chromium');
  await fsp.mkdir(home);
  const dom = await chromium(['--dump-dom', `file://${html}`], home);
  const marks = [...dom.matchAll(/<rect class="set tier-(\w+)[^"]*" data-set="([^"]+)"/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(marks, sets.map((s) => [s.tier, s.id]));
  assert.equal([...dom.matchAll(/<line class="chain"/g)].length, 2, 'each INCR is joined to its base');
  assert.equal([...dom.matchAll(/<tr class="set-row"/g)].length, 4);
  assert.match(dom, /<div class="warnings"><strong>1 warning<\/strong><ul><li>docs: no complete set for 5 days/);
  assert.match(dom, /<h2>Recent runs<\/h2>/);

  const png = path.join(root, 'out', 'report.png');
  await chromium([`--screenshot=${png}`, '--window-size=1000,1100', `file://${html}`], home);
  const img = decodePng(await fsp.readFile(png));
  assert.equal(img.width, 1000);
  // The timeline's marks and the tier badges are drawn in each present tier's colour; yearly has no set.
  for (const tier of ['daily', 'weekly', 'monthly'] as const) {
    assert.ok(countColour(img, TIER_COLOURS[tier]) > 150, `${tier} is drawn in ${TIER_COLOURS[tier]}`);
  }
  assert.ok(countColour(img, TIER_COLOURS.yearly) < countColour(img, TIER_COLOURS.monthly), 'yearly only appears in the legend');
});

test('report needs --html or --json, and names a missing destination', async (t) => {
  const root = await tempDir(t, 'strata-report-');
  const r = await cli(['report', '--dest', root], { expect: 2 });
  assert.match(r.stderr, /report needs --html FILE/);
  await cli(['report', '--dest', path.join(root, 'missing'), '--html', path.join(root, 'r.html')], { expect: 10 });
  await assert.rejects(fsp.stat(path.join(root, 'r.html')));
});
