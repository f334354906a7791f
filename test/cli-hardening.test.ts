/**
 * CLI hardening through the real strata program: a config's `password: { env }` variable never
 * reaches a child process (7zz, par2, git), credentials in a destination and in rclone's messages
 * are redacted, --at takes only real ISO 8601 dates, global options without a value and `--json`
 * without a command are usage errors, a broken state folder is a clear error (not a crash), and a
 * missing source folder names its `path:` key and line.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { parseWhen } from '../src/commands/common.js';
import { isStrataError } from '../src/errors.js';
import { strata, type CliResult } from './helpers/cli.js';
import { tempDir } from './helpers/tmp.js';

const PASSWORD = 'hardening-suite-password-7f3c';

function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}

/** findOnPath returns the first executable `name` on PATH outside `skip`. */
function findOnPath(name: string, skip: string): string {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '' || path.resolve(dir) === skip) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not on PATH`);
}

/** source writes a small source folder and returns its path. */
async function source(root: string): Promise<string> {
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
  await fsp.writeFile(path.join(src, 'a.txt'), 'alpha\n'.repeat(100));
  await fsp.writeFile(path.join(src, 'sub', 'b.txt'), 'beta\n'.repeat(100));
  return src;
}

describe('password: { env } in the config', () => {
  it('the variable reaches no child process: not the tool probes, not backup, not verify --no-password', { timeout: 180_000 }, async (t: TestContext) => {
    const root = await tempDir(t, 'strata-hardening-env-');
    const src = await source(root);
    const bin = path.join(root, 'bin');
    const logs = path.join(root, 'logs');
    await fsp.mkdir(bin);
    await fsp.mkdir(logs);
    // Wrappers that record the environment they were started with, then run the real tool.
    for (const tool of ['7zz', 'par2', 'git']) {
      const real = findOnPath(tool, bin);
      const log = path.join(logs, `${tool}.env`);
      await fsp.writeFile(path.join(bin, tool), `#!/bin/sh\n{ echo "=== ${tool} $*"; env; } >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    }
    const cfg = path.join(root, 'strata.yaml');
    await fsp.mkdir(path.join(root, 'dest')); // strata never creates a missing destination
    const variable = 'STRATA_HARDENING_SECRET_PW';
    await fsp.writeFile(cfg, ['job: envtest', 'sources:', `  - path: ${src}`, `destination: ${path.join(root, 'dest')}`, 'password:', `  env: ${variable}`, ''].join('\n'));
    const env = { PATH: `${bin}${path.delimiter}${process.env['PATH'] ?? ''}`, [variable]: PASSWORD };
    const state = path.join(root, 'state');
    const backup = await strata(['--config', cfg, '--state', state, 'backup', '--tier', 'weekly'], { env });
    assert.equal(backup.code, 0, show(backup));
    const verify = await strata(['--config', cfg, '--state', state, 'verify', '--no-password'], { env });
    assert.equal(verify.code, 0, show(verify));
    for (const tool of ['7zz', 'par2', 'git']) {
      const log = await fsp.readFile(path.join(logs, `${tool}.env`), 'utf8');
      assert.match(log, /^=== /, `${tool} was never run through its wrapper`);
      assert.ok(!log.includes(variable) && !log.includes(PASSWORD), `${tool} inherited ${variable}:\n${log.split('\n').filter((l) => l.includes(variable)).join('\n')}`);
    }
    // verify --no-password ran the probes and par2 too (it resolves no password at all).
    assert.ok((await fsp.readFile(path.join(logs, 'par2.env'), 'utf8')).includes('=== par2 v'), 'verify --no-password did not run par2 verify');
  });
});

describe('credentials in destinations are redacted', () => {
  it('a URL made invalid by a secret holding "/" or "#", and rclone messages that echo a connection string', { timeout: 60_000 }, async (t: TestContext) => {
    const root = await tempDir(t, 'strata-hardening-redact-');
    const env = { STRATA_PASSWORD: PASSWORD, HOME: root, RCLONE_CONFIG: path.join(root, 'rclone.conf') };
    for (const [dest, secrets] of [
      ['s3://AKIDHARDEN:wJalr/K7MDENG@bucket/p', ['wJalr', 'K7MDENG', 'AKIDHARDEN']],
      ['webdav+http://alice:pa#ssWORD@host/x', ['ssWORD']],
      ['rclone::webdav,url="http://u:URLSECRET9@127.0.0.1:9/dav",pass=OBSCURED9X:dir', ['URLSECRET9', 'OBSCURED9X']],
    ] as const) {
      const r = await strata(['--state', path.join(root, 'state'), 'list', '--dest', dest], { env });
      assert.notEqual(r.code, 0, show(r));
      for (const s of secrets) assert.ok(!(r.stdout + r.stderr).includes(s), `${dest}: the output shows ${s}\n${show(r)}`);
      assert.doesNotMatch(r.stderr, /This is a bug/, show(r));
    }
  });
});

describe('restore --at', () => {
  it('parseWhen takes ISO 8601 dates and date-times with real calendar checks', () => {
    assert.equal(parseWhen('2026-11-30T10:00:00Z').toISOString(), '2026-11-30T10:00:00.000Z');
    assert.equal(parseWhen('2026-11-30T10:00Z').toISOString(), '2026-11-30T10:00:00.000Z');
    assert.equal(parseWhen('2026-11-30 10:00:00.5+01:00').toISOString(), '2026-11-30T09:00:00.500Z');
    assert.equal(parseWhen('2024-02-29T23:59:59.999-05:30').toISOString(), '2024-03-01T05:29:59.999Z');
    assert.equal(parseWhen('2026-11-30').getTime(), new Date(2026, 10, 30, 23, 59, 59, 999).getTime());
    assert.equal(parseWhen('2026-11-30T08:15').getTime(), new Date(2026, 10, 30, 8, 15).getTime());
    for (const bad of ['2026-11-31', '2026-02-29', '2026-13-01', '2026-00-10', 'banana 2026-12-01', '1', '', '2026-11-30T24:00', '2026-11-30T10:60', '2026-11-30T10:00:61Z', '2026-11-30T10:00+25:00', '2026-11-30T10', '30.11.2026', 'Nov 30 2026', '2026-11-30Z']) {
      assert.throws(() => parseWhen(bad), (e: unknown) => isStrataError(e, 'USAGE') && e.exitCode === 2 && e.message.startsWith('--at'), bad);
    }
  });

  it('a date that does not exist is a usage error (exit 2) through the CLI', { timeout: 60_000 }, async (t: TestContext) => {
    const root = await tempDir(t, 'strata-hardening-at-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    for (const at of ['2026-11-31', 'banana 2026-12-01', '1']) {
      const r = await strata(['--state', path.join(root, 'state'), 'restore', '--dest', dest, '--to', path.join(root, 'out'), '--at', at], { env: { STRATA_PASSWORD: PASSWORD } });
      assert.equal(r.code, 2, `--at ${at}\n${show(r)}`);
      assert.match(r.stderr, /--at: /, show(r));
    }
  });
});

describe('options without a value', () => {
  it('--state, --config and command options given without a value are usage errors (exit 2)', { timeout: 60_000 }, async (t: TestContext) => {
    const root = await tempDir(t, 'strata-hardening-flags-');
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    const env = { STRATA_PASSWORD: PASSWORD, HOME: root, XDG_STATE_HOME: path.join(root, 'xdg') };
    for (const args of [
      ['list', '--dest', dest, '--state'],
      ['list', '--dest', dest, '--config'],
      ['--state', '--json', 'list', '--dest', dest],
      ['--config', '--quiet', 'list', '--dest', dest],
      ['--state=', 'list', '--dest', dest],
      ['--config=', 'list', '--dest', dest],
      ['list', '--dest='],
      ['restore', '--dest', dest, '--to='],
      ['log', '--job='],
    ]) {
      const r = await strata(args, { env, cwd: root });
      assert.equal(r.code, 2, `${args.join(' ')}\n${show(r)}`);
      assert.match(r.stderr, /needs a value|argument missing|ambiguous/, `${args.join(' ')}\n${show(r)}`);
    }
    assert.equal(fs.existsSync(path.join(root, 'xdg')), false, 'a run with a missing --state used the default state folder');
  });

  it('strata --json without a command prints one JSON document with the usage error', { timeout: 30_000 }, async () => {
    const r = await strata(['--json']);
    assert.equal(r.code, 2, show(r));
    const doc = JSON.parse(r.stdout) as { error: { code: string; exitCode: number; message: string } };
    assert.equal(doc.error.code, 'USAGE');
    assert.equal(doc.error.exitCode, 2);
    const plain = await strata([]);
    assert.equal(plain.code, 2, show(plain));
    assert.match(plain.stdout, /^usage: strata/);
  });
});

describe('a broken state folder', () => {
  it('--state /dev/null (not a folder) is a clear error naming it, for backup, restore and log', { timeout: 60_000 }, async (t: TestContext) => {
    const root = await tempDir(t, 'strata-hardening-state-');
    const src = await source(root);
    const dest = path.join(root, 'dest');
    await fsp.mkdir(dest);
    const notAFolder = path.join(root, 'state-file');
    await fsp.writeFile(notAFolder, 'not a folder');
    for (const state of ['/dev/null', notAFolder]) {
      for (const args of [
        ['backup', '--tier', 'weekly', '--source', src, '--dest', dest],
        ['restore', '--dest', dest, '--to', path.join(root, 'out')],
        ['log'],
      ]) {
        const r = await strata(['--state', state, ...args], { env: { STRATA_PASSWORD: PASSWORD }, cwd: root });
        assert.equal(r.code, 1, `${args[0] ?? ''}\n${show(r)}`);
        assert.doesNotMatch(r.stderr, /This is a bug|\n\s+at /, `${args[0] ?? ''}\n${show(r)}`);
        assert.match(r.stderr, new RegExp(`state folder ${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*not a directory`), show(r));
        assert.match(r.stderr, /hint: .*--state/, show(r));
      }
    }
  });
});

describe('a missing source folder', () => {
  it('is reported with the file:line of its path: key, before anything runs', { timeout: 60_000 }, async (t: TestContext) => {
    const root = await tempDir(t, 'strata-hardening-source-');
    const src = await source(root);
    const cfg = path.join(root, 'strata.yaml');
    await fsp.writeFile(cfg, ['sources:', `  - path: ${src}`, '  - name: gone', '    path: ./no-such-folder', `destination: ./dest`, ''].join('\n'));
    const state = path.join(root, 'state');
    const r = await strata(['--config', cfg, '--state', state, 'backup', '--tier', 'weekly'], { env: { STRATA_PASSWORD: PASSWORD }, cwd: root });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /strata\.yaml:4:5: sources\[1\]\.path: the source folder .*no-such-folder does not exist/, show(r));
    assert.equal(fs.existsSync(path.join(root, 'dest')), false, 'the destination was written');
  });
});
