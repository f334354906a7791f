/** Tests for config/password: each source, its order, and every refusal. */
import assert from 'node:assert/strict';
import { chmod, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { resolvePassword, type PasswordRequest } from '../../src/config/password.js';
import { isStrataError, type ErrorCode } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const base: PasswordRequest = { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' }, confirm: false, isTTY: false };

function rejectsWith(code: ErrorCode, re: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(isStrataError(e, code), `expected ${code}, got ${String(e)}`);
    assert.match(e.message, re);
    return true;
  };
}

/** noPrompt fails the test if the terminal is used. */
const noPrompt = (): Promise<string> => Promise.reject(new Error('prompted'));

describe('resolvePassword', () => {
  it('takes STRATA_PASSWORD first', async () => {
    const pw = await resolvePassword({ ...base, env: { ...base.env, STRATA_PASSWORD: 's3cret', STRATA_PASSWORD_FILE: '/nonexistent' }, config: { password: { command: 'exit 1' } }, prompt: noPrompt, isTTY: true });
    assert.equal(pw, 's3cret');
  });

  it('refuses a password with a line break at once (7-Zip reads one line from stdin)', async () => {
    await assert.rejects(resolvePassword({ ...base, env: { STRATA_PASSWORD: 'first\nsecond' } }), rejectsWith('USAGE', /line break/));
    await assert.rejects(resolvePassword({ ...base, env: { STRATA_PASSWORD: 'first\r' } }), rejectsWith('USAGE', /line break/));
  });

  it('refuses an empty STRATA_PASSWORD', async () => {
    await assert.rejects(resolvePassword({ ...base, env: { STRATA_PASSWORD: '' } }), rejectsWith('NO_PASSWORD', /empty password is refused/));
  });

  it('reads the first line of a chmod-600 STRATA_PASSWORD_FILE', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'pw');
    await writeFile(file, 'from file\nsecond line\n', { mode: 0o600 });
    await chmod(file, 0o600);
    const pw = await resolvePassword({ ...base, env: { STRATA_PASSWORD_FILE: file }, config: { password: { command: 'exit 1' } }, prompt: noPrompt });
    assert.equal(pw, 'from file');
  });

  it('refuses a password file readable by group or others, whoever runs it (root too)', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'pw');
    await writeFile(file, 'x\n');
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      await chmod(file, mode);
      await assert.rejects(resolvePassword({ ...base, env: { STRATA_PASSWORD_FILE: file } }), (e: unknown) => {
        rejectsWith('CONFIG', /accessible by group or others \(mode 06[0-7]{2}\)/)(e);
        assert.match((e as Error & { hint: string }).hint, /chmod 600/);
        return true;
      });
    }
  });

  it('refuses a missing or empty password file', async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(resolvePassword({ ...base, env: { STRATA_PASSWORD_FILE: path.join(dir, 'none') } }), rejectsWith('CONFIG', /does not exist/));
    const file = path.join(dir, 'empty');
    await writeFile(file, '\n', { mode: 0o600 });
    await assert.rejects(resolvePassword({ ...base, env: { STRATA_PASSWORD_FILE: file } }), rejectsWith('NO_PASSWORD', /empty password/));
  });

  it('reads password.file from the config with the same rules', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'pw');
    await writeFile(file, 'cfg file', { mode: 0o600 });
    assert.equal(await resolvePassword({ ...base, config: { password: { file } } }), 'cfg file');
    await chmod(file, 0o660);
    await assert.rejects(resolvePassword({ ...base, config: { password: { file } } }), rejectsWith('CONFIG', /accessible by group or others/));
  });

  it('runs password.command with sh -c and takes its first line', async () => {
    const pw = await resolvePassword({ ...base, config: { password: { command: 'printf "%s\\n%s\\n" "pass word" "ignored" | cat' } }, prompt: noPrompt, isTTY: true });
    assert.equal(pw, 'pass word');
  });

  it('passes the environment to the command', async () => {
    const pw = await resolvePassword({ ...base, env: { ...base.env, MY_PW: 'via env' }, config: { password: { command: 'echo "$MY_PW"' } } });
    assert.equal(pw, 'via env');
  });

  it('reports a failing command (NO_PASSWORD, exit 12) with its stderr shown, never its stdout', async () => {
    const shown: string[] = [];
    await assert.rejects(resolvePassword({ ...base, config: { password: { command: 'echo leaked-secret; echo oops >&2; exit 3' } }, onCommandStderr: (l) => shown.push(l) }), (e: unknown) => {
      rejectsWith('NO_PASSWORD', /password command exited with status 3/)(e);
      assert.doesNotMatch(`${(e as Error).message} ${(e as Error & { hint: string }).hint}`, /leaked-secret|oops/);
      return true;
    });
    assert.deepEqual(shown, ['oops']);
  });

  it('stops a password command after its timeout, with the processes it started', async () => {
    const started = performance.now();
    await assert.rejects(
      resolvePassword({ ...base, config: { password: { command: 'sleep 300; echo late', timeoutSeconds: 1 } } }),
      rejectsWith('NO_PASSWORD', /did not finish within 1 s/),
    );
    assert.ok(performance.now() - started < 10_000, 'the run did not wait for the sleep');
  });

  it('refuses a command that prints nothing', async () => {
    await assert.rejects(resolvePassword({ ...base, config: { password: { command: 'true' } } }), rejectsWith('NO_PASSWORD', /empty password/));
  });

  it('reads password.env', async () => {
    assert.equal(await resolvePassword({ ...base, env: { BK: 'from BK' }, config: { password: { env: 'BK' } } }), 'from BK');
    await assert.rejects(resolvePassword({ ...base, env: {}, config: { password: { env: 'BK' } } }), rejectsWith('NO_PASSWORD', /BK, which is not set/));
  });

  it('no source and no terminal: NO_PASSWORD with a hint listing the options', async () => {
    await assert.rejects(resolvePassword({ ...base, config: {} }), (e: unknown) => {
      rejectsWith('NO_PASSWORD', /no password given and no terminal/)(e);
      const hint = (e as Error & { hint: string }).hint;
      for (const option of ['STRATA_PASSWORD', 'STRATA_PASSWORD_FILE', 'password:', 'terminal']) assert.ok(hint.includes(option), option);
      return true;
    });
  });

  it('prompts on a terminal, twice when confirming', async () => {
    const asked: string[] = [];
    const answers = ['typed', 'typed'];
    const prompt = async (q: string): Promise<string> => {
      asked.push(q);
      return answers.shift() ?? '';
    };
    assert.equal(await resolvePassword({ ...base, isTTY: true, confirm: true, prompt }), 'typed');
    assert.deepEqual(asked, ['Password: ', 'Repeat password: ']);
    assert.equal(await resolvePassword({ ...base, isTTY: true, prompt: async () => 'once' }), 'once');
  });

  it('refuses mismatched or empty typed passwords', async () => {
    const seq = (...a: string[]) => async (): Promise<string> => a.shift() ?? '';
    await assert.rejects(resolvePassword({ ...base, isTTY: true, confirm: true, prompt: seq('one', 'two') }), rejectsWith('NO_PASSWORD', /did not match/));
    await assert.rejects(resolvePassword({ ...base, isTTY: true, prompt: seq('') }), rejectsWith('NO_PASSWORD', /empty password/));
  });
});
