/**
 * End-to-end tests, through the compiled CLI: the config file (`strata init` → backup with
 * --config, two sources each with its own set and restored under `<to>/<source>/`, schedule.weeklyOn
 * for --tier auto, a misspelt key → exit 2 naming key and line, nothing run), and --json on every
 * command: stdout is exactly one JSON document, errors included (`{"error": {...}}`).
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, day, jsonOf, snapshot } from './util.js';

async function put(root: string, rel: string, content: string): Promise<void> {
  const file = path.join(root, rel);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, content);
}

interface BackupJson {
  sources: { source: string; tier: string; type: string; setId: string | null }[];
  exitCode: number;
}

interface ErrorJson {
  error: { code: string; message: string; hint: string | null; exitCode: number };
}

describe('strata end to end (config file, --json)', { concurrency: 2 }, () => {
  it('7. config file: init, backup --config with two sources, restore to <to>/<source>/, weeklyOn, a typo stops everything', async (t) => {
    const root = await tempDir(t, 'strata-e2e-cfg-');
    const alpha = path.join(root, 'alpha');
    const beta = path.join(root, 'beta');
    await put(alpha, 'a.txt', 'alpha file\n');
    await put(alpha, 'sub/deep.txt', 'deep alpha\n');
    await put(beta, 'b.txt', 'beta file\n');
    await fsp.mkdir(path.join(beta, 'empty'));
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest); // strata never creates a missing destination
    const state = path.join(root, 'state');
    const cfg = path.join(root, 'conf', 'strata.yaml');
    await fsp.mkdir(path.dirname(cfg));
    const g = ['--config', cfg, '--state', state];

    await cli(['init', ...g, '--source', alpha, '--source', beta, '--dest', dest]);
    const text = await fsp.readFile(cfg, 'utf8');
    assert.match(text, new RegExp(`^ {2}- path: ${alpha}$`, 'm'));
    assert.match(text, new RegExp(`^ {4}name: beta$`, 'm'));
    assert.match(text, new RegExp(`^destination: ${dest}$`, 'm'));
    assert.equal((await fsp.stat(cfg)).mode & 0o777, 0o600);
    // init refuses to overwrite (ALREADY_EXISTS → exit 1).
    await cli(['init', ...g], { expect: 1 });
    assert.equal(await fsp.readFile(cfg, 'utf8'), text);

    const r = jsonOf<BackupJson>(await cli(['backup', '--tier', 'weekly', '--json', ...g], { now: day(0) }));
    assert.deepEqual(r.sources.map((s) => [s.source, s.tier, s.type, s.setId]), [
      ['alpha', 'weekly', 'FULL', '261129_FULL_alpha'],
      ['beta', 'weekly', 'FULL', '261129_FULL_beta'],
    ]);
    assert.deepEqual((await fsp.readdir(dest)).sort(), ['261129_FULL_alpha', '261129_FULL_beta', 'strata-destination.json']);
    const to = path.join(root, 'restored');
    await cli(['restore', '--to', to, ...g]);
    assert.deepEqual((await fsp.readdir(to)).sort(), ['alpha', 'beta']);
    assertSameTree(await snapshot(path.join(to, 'alpha')), await snapshot(alpha));
    assertSameTree(await snapshot(path.join(to, 'beta')), await snapshot(beta));
    // --source picks one of them, straight into --to.
    const onlyBeta = path.join(root, 'only-beta');
    await cli(['restore', '--source', 'beta', '--to', onlyBeta, ...g]);
    assertSameTree(await snapshot(onlyBeta), await snapshot(beta));

    // schedule.weeklyOn: tuesday → --tier auto is weekly on Tuesday 2026-12-01, daily on Monday.
    await fsp.writeFile(cfg, text.replace(/^ {2}weeklyOn: sunday$/m, '  weeklyOn: tuesday'));
    await put(alpha, 'monday.txt', 'm\n');
    const mon = jsonOf<BackupJson>(await cli(['backup', '--tier', 'auto', '--json', ...g], { now: day(1) }));
    assert.deepEqual(mon.sources.map((s) => [s.source, s.tier, s.type, s.setId]), [['alpha', 'daily', 'INCR', '261130_INCR_alpha'], ['beta', 'daily', 'INCR', null]]);
    const tue = jsonOf<BackupJson>(await cli(['backup', '--tier', 'auto', '--json', ...g], { now: day(2) }));
    assert.deepEqual(tue.sources.map((s) => [s.tier, s.type, s.setId]), [['weekly', 'FULL', '261201_FULL_alpha'], ['weekly', 'FULL', '261201_FULL_beta']]);

    // A misspelt key: exit 2, the key and its line named, nothing ran (destination and state untouched).
    const lines = text.split('\n');
    const lineNo = lines.findIndex((l) => l === '    exclude: []') + 1;
    assert.ok(lineNo > 0);
    await fsp.writeFile(cfg, text.replace('    exclude: []', '    exlude: []'));
    const destBefore = await snapshot(dest);
    const stateBefore = await snapshot(state);
    await put(alpha, 'new-after-typo.txt', 'should not be backed up\n');
    const bad = await cli(['backup', '--tier', 'weekly', ...g], { now: day(3), expect: 2 });
    assert.match(bad.stderr, new RegExp(`strata\\.yaml:${lineNo}:5: unknown key "exlude" in sources\\[0\\] \\(did you mean "exclude"\\?\\)`));
    assertSameTree(await snapshot(dest), destBefore, { mtimeToleranceNs: 0n });
    assertSameTree(await snapshot(state), stateBefore, { mtimeToleranceNs: 0n });
    const badJson = jsonOf<ErrorJson>(await cli(['list', '--json', ...g], { expect: 2 }));
    assert.equal(badJson.error.code, 'CONFIG');
    assert.equal(badJson.error.exitCode, 2);
    assert.match(badJson.error.message, /exlude/);
  });

  it('9. --json: every command prints exactly one JSON document on stdout, errors too', async (t) => {
    const root = await tempDir(t, 'strata-e2e-json-');
    const src = path.join(root, 'src');
    await put(src, 'a.txt', 'a\n');
    await put(src, 'dir/b.txt', 'b\n');
    const dest = path.join(root, 'dest');
    const state = path.join(root, 'state');
    const d = ['--dest', dest, '--state', state];

    const init = jsonOf<{ config: string; placeholders: boolean }>(await cli(['init', '--json', '--config', path.join(root, 'x.yaml'), '--source', src, '--dest', dest]));
    assert.deepEqual(init, { config: path.join(root, 'x.yaml'), placeholders: false });
    // --json may stand anywhere on the line, also before the command.
    const b1 = jsonOf<BackupJson>(await cli(['--json', 'backup', '--tier', 'weekly', '--source', src, ...d], { now: day(0) }));
    assert.equal(b1.sources[0]?.setId, '261129_FULL_src');
    assert.equal(b1.exitCode, 0);
    await put(src, 'c.txt', 'c\n');
    const b2 = jsonOf<BackupJson>(await cli(['backup', '--tier', 'daily', '--source', src, ...d, '--json'], { now: day(1) }));
    assert.equal(b2.sources[0]?.type, 'INCR');
    const list = jsonOf<{ sets: { id: string }[]; incomplete: string[]; problems: unknown[] }>(await cli(['list', '--json', ...d]));
    assert.deepEqual(list.sets.map((s) => s.id), ['261129_FULL_src', '261130_INCR_src']);
    assert.deepEqual([list.incomplete, list.problems], [[], []]);
    const restore = jsonOf<{ restored: { setId: string; files: number; dirs: number }[]; exitCode: number }>(await cli(['restore', '--json', '--to', path.join(root, 'r'), ...d]));
    assert.deepEqual(restore.restored.map((r) => [r.setId, r.files, r.dirs]), [['261130_INCR_src', 3, 1]]);
    assert.equal(restore.exitCode, 0);
    const verify = jsonOf<{ sets: { id: string; status: string }[]; exitCode: number }>(await cli(['verify', '--json', '--all', ...d]));
    assert.deepEqual(verify.sets.map((v) => [v.id, v.status]), [['261129_FULL_src', 'ok'], ['261130_INCR_src', 'ok']]);
    const history = jsonOf<{ path: string; events: { change: string; setId: string; entry?: { mtime: string } }[] }>(await cli(['history', '--json', '--state', state, 'c.txt']));
    assert.deepEqual(history.events.map((e) => [e.change, e.setId]), [['added', '261130_INCR_src']]);
    assert.match(history.events[0]?.entry?.mtime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const log = jsonOf<{ runs: { setId: string }[] }>(await cli(['log', '--json', '--state', state]));
    assert.deepEqual(log.runs.map((r) => r.setId), ['261130_INCR_src', '261129_FULL_src']);
    const plan = jsonOf(await cli(['plan', '--json', '--size', '3GiB', '--tier', 'monthly']));
    assert.ok(Object.keys(plan).length > 0);

    // Errors: {"error": {code, message, hint, exitCode}} with the process exiting with that code.
    await fsp.mkdir(path.join(root, 'empty-dest'));
    const errors: [string[], number, string][] = [
      [['restore', '--json', '--set', 'NOPE', '--to', path.join(root, 'r2'), ...d], 1, 'NOT_FOUND'],
      [['backup', '--json', '--tier', 'hourly', '--source', src, ...d], 2, 'USAGE'],
      [['list', '--json', '--bogus-flag', ...d], 2, 'USAGE'],
      [['list', '--json', '--dest', path.join(root, 'empty-dest'), '--state', state], 0, ''],
      [['restore', '--json', '--to', path.join(root, 'r3'), '--dest', path.join(root, 'empty-dest'), '--state', state], 10, 'NO_REPOSITORY'],
      [['list', '--json', '--dest', path.join(root, 'missing-dest'), '--state', state], 10, 'NO_DESTINATION'],
      [['restore', '--json', '--to', path.join(root, 'r4'), ...d], 12, 'WRONG_PASSWORD'],
      [['log', '--json', '--state', path.join(root, 'nothing')], 10, 'NO_REPOSITORY'],
    ];
    await Promise.all(errors.map(async ([args, code, errCode], i) => {
      const env = errCode === 'WRONG_PASSWORD' ? { STRATA_PASSWORD: 'wrong' } : {};
      const r = jsonOf<ErrorJson & { sets?: unknown[] }>(await cli(args, { expect: code, env }));
      if (code === 0) {
        assert.deepEqual(r.sets, [], `case ${i}`);
        return;
      }
      assert.equal(r.error.code, errCode, `case ${i}: ${r.error.message}`);
      assert.equal(r.error.exitCode, code);
      assert.equal(typeof r.error.message, 'string');
      assert.ok(r.error.hint === null || typeof r.error.hint === 'string');
    }));
  });
});
