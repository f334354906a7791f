/** config: `schedule.at` and `notify:` — defaults, and bad values named with their line. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../src/config/load.js';
import { isStrataError } from '../../src/errors.js';

const base = 'sources: [{path: /a}]\ndestination: /b\n';
const parse = (extra: string): ReturnType<typeof parseConfigText> => parseConfigText(base + extra, 'strata.yaml', { baseDir: '/', env: {} });
function problem(extra: string): string {
  try {
    parse(extra);
  } catch (e) {
    assert.ok(isStrataError(e, 'CONFIG'), String(e));
    assert.equal(e.exitCode, 2);
    return e.message;
  }
  assert.fail(`accepted: ${extra}`);
}

describe('schedule.at and notify', () => {
  it('defaults: no schedule time, nobody notified; given values are kept', () => {
    const c = parse('');
    assert.equal(c.schedule.at, undefined);
    assert.equal(c.notify, undefined);
    const d = parse('schedule:\n  at: "2:05"\nnotify:\n  url: https://hc-ping.com/abc\n');
    assert.equal(d.schedule.at, '02:05');
    assert.deepEqual(d.notify, { url: 'https://hc-ping.com/abc', on: ['failure', 'partial'], timeoutSeconds: 10 });
    const e = parse('notify:\n  command: alert.sh\n  on: [success, failure]\n  timeout: 1m\n');
    assert.deepEqual(e.notify, { command: 'alert.sh', on: ['success', 'failure'], timeoutSeconds: 60 });
  });

  it('a schedule time that is not HH:MM names its line', () => {
    assert.match(problem('schedule:\n  at: "25:00"\n'), /strata\.yaml:4:3: schedule\.at: must be a time of day HH:MM/);
    assert.match(problem('schedule:\n  at: 230\n'), /strata\.yaml:4:3: schedule\.at: expected a time of day such as "02:30", got the number 230/);
    assert.match(problem('schedule:\n  at: "2pm"\n'), /strata\.yaml:4:3: schedule\.at: must be a time of day HH:MM/);
  });

  it('bad notify blocks name the key and line', () => {
    assert.match(problem('notify:\n  on: [failure]\n'), /strata\.yaml:3:1: notify: give a command, a url, or both/);
    assert.match(problem('notify:\n  url: ftp://x/y\n'), /strata\.yaml:4:\d+: notify\.url: must be an http:\/\/ or https:\/\/ URL/);
    assert.match(problem('notify:\n  command: x\n  on: [failed]\n'), /strata\.yaml:5:\d+: notify\.on.*failure, partial, success/);
    assert.match(problem('notify:\n  command: x\n  timeout: forever\n'), /strata\.yaml:5:\d+: notify\.timeout: .*duration/);
    assert.match(problem('notify:\n  comand: x\n'), /unknown key "comand" in notify \(did you mean "command"\?\)/);
  });
});
