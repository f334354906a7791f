/**
 * core/schedule: the systemd units and crontab lines `strata schedule install` writes (golden
 * files; STRATA_UPDATE_GOLDEN=1 rewrites them), reading them back, and the crontab edits that
 * never make two entries nor touch other lines. Pure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cronBlock,
  findCronBlock,
  nextRun,
  parseClockTime,
  parseCronBlock,
  parseTimer,
  shellQuote,
  systemdQuote,
  systemdUnits,
  withCronBlock,
  withoutCronBlock,
  type ScheduleSpec,
} from '../../src/core/schedule.js';

/** GOLDEN is test/core/golden/schedule in the source tree (this file runs from dist/test/core). */
const GOLDEN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/core/golden/schedule');

function golden(name: string, actual: string): void {
  const file = path.join(GOLDEN, name);
  if (process.env['STRATA_UPDATE_GOLDEN'] === '1') {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(file, actual);
  }
  assert.ok(existsSync(file), `golden file ${file} is missing (run with STRATA_UPDATE_GOLDEN=1 to write it)`);
  assert.equal(actual, readFileSync(file, 'utf8'), `${name} differs from its golden file`);
}

const spec: ScheduleSpec = {
  job: 'laptop',
  strata: ['/usr/bin/node', '/opt/strata/bin/strata.js'],
  config: '/home/me/.config/strata/strata.yaml',
  state: '/home/me/.local/state/strata',
  at: { hour: 2, minute: 30 },
  system: false,
};

test('systemd units: user and system, with and without the weekly verify (golden)', () => {
  golden('user.units.txt', systemdUnits(spec).map((u) => `### ${u.name}\n${u.text}`).join('\n'));
  golden('system-verify.units.txt', systemdUnits({ ...spec, job: 'srv', system: true, verify: { percent: 5, on: 'wednesday' } }).map((u) => `### ${u.name}\n${u.text}`).join('\n'));
  // An odd path: spaces, quotes, % and $ reach the program as written.
  golden('odd-path.units.txt', systemdUnits({ ...spec, config: '/home/me/my "100%" $HOME/strata.yaml' }).map((u) => `### ${u.name}\n${u.text}`).join('\n'));
});

test('crontab block (golden), and reading it back', () => {
  const block = cronBlock({ ...spec, verify: { percent: 2.5, on: 'sunday' }, config: "/home/me/it's 100%/strata.yaml" });
  golden('crontab.txt', block.join('\n') + '\n');
  assert.deepEqual(parseCronBlock(block), { kind: 'cron', at: { hour: 2, minute: 30 }, verify: { percent: 2.5, on: 'sunday' } });
  assert.deepEqual(parseCronBlock(cronBlock(spec)), { kind: 'cron', at: { hour: 2, minute: 30 }, verify: undefined });
});

test('crontab edits: installing twice never makes two, other lines and jobs stay, remove takes only the job', () => {
  const mine = '# my own\nMAILTO=me\n0 5 * * * /usr/bin/true\n';
  const once = withCronBlock(mine, spec);
  const twice = withCronBlock(once, { ...spec, at: { hour: 4, minute: 5 } });
  assert.ok(once.startsWith(mine));
  assert.equal(twice.split('BEGIN strata job laptop').length - 1, 1, twice);
  assert.match(twice, /^5 4 \* \* \* /m);
  assert.doesNotMatch(twice, /^30 2 /m);
  const other = withCronBlock(twice, { ...spec, job: 'laptop2' });
  assert.equal(findCronBlock(other, 'laptop').block?.length, 3);
  assert.equal(findCronBlock(other, 'laptop2').block?.length, 3);
  const removed = withoutCronBlock(other, 'laptop');
  assert.equal(findCronBlock(removed, 'laptop').block, undefined);
  assert.notEqual(findCronBlock(removed, 'laptop2').block, undefined);
  assert.equal(withoutCronBlock(removed, 'laptop2'), mine);
  assert.equal(withoutCronBlock(withCronBlock('', spec), 'laptop'), '');
  // A block whose END marker was deleted by hand still goes, and only up to the next comment.
  const broken = `${cronBlock(spec).slice(0, 2).join('\n')}\n# next\n1 1 * * * x\n`;
  assert.equal(withoutCronBlock(broken, 'laptop'), '# next\n1 1 * * * x\n');
});

test('parseClockTime: HH:MM on a 24-hour clock only', () => {
  assert.deepEqual(parseClockTime('02:30'), { hour: 2, minute: 30 });
  assert.deepEqual(parseClockTime('2:05'), { hour: 2, minute: 5 });
  assert.deepEqual(parseClockTime('23:59'), { hour: 23, minute: 59 });
  for (const bad of ['24:00', '12:60', '2:5', '0230', '2.30', '02:30:00', '', 'noon', '-1:00', '02:30pm']) assert.equal(parseClockTime(bad), undefined, bad);
});

test('parseTimer reads back what systemdUnits wrote; nextRun is today or tomorrow', () => {
  const units = systemdUnits({ ...spec, verify: { percent: 5, on: 'friday' } });
  assert.deepEqual(parseTimer(units[1]?.text ?? ''), { at: { hour: 2, minute: 30 }, on: undefined });
  assert.deepEqual(parseTimer(units[3]?.text ?? ''), { at: { hour: 2, minute: 30 }, on: 'friday' });
  const at = { hour: 2, minute: 30 };
  const morning = new Date(2026, 11, 6, 1, 0);
  assert.equal(nextRun(at, morning).getTime(), new Date(2026, 11, 6, 2, 30).getTime());
  assert.equal(nextRun(at, new Date(2026, 11, 6, 2, 30)).getTime(), new Date(2026, 11, 7, 2, 30).getTime());
  assert.equal(nextRun(at, new Date(2026, 11, 31, 23, 0)).getTime(), new Date(2027, 0, 1, 2, 30).getTime());
});

test('quoting: systemd doubles % and $, the shell gets single quotes', () => {
  assert.equal(systemdQuote('a b'), '"a b"');
  assert.equal(systemdQuote('100% $HOME "x" \\'), '"100%% $$HOME \\"x\\" \\\\"');
  assert.equal(shellQuote('/plain/path.yaml'), '/plain/path.yaml');
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
