/**
 * password.command in unattended runs: a command that waits for input or hangs is stopped after
 * password.timeout, its stderr is shown (prefixed), and a failing command ends the run with exit 12.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { test } from 'node:test';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { elapsedMs, show } from './robust-util.js';

async function job(t: Parameters<typeof tempDir>[0], passwordBlock: string): Promise<{ root: string; cfg: string }> {
  const root = await tempDir(t, 'strata-pwcmd-');
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  await fsp.writeFile(path.join(src, 'a.txt'), 'alpha\n');
  await fsp.mkdir(path.join(root, 'dest'));
  const cfg = path.join(root, 'strata.yaml');
  await fsp.writeFile(cfg, `sources: [{path: ${src}}]\ndestination: ${path.join(root, 'dest')}\n${passwordBlock}\n`);
  return { root, cfg };
}

test('a password command that hangs is stopped after password.timeout: exit 12 with a clear message', { timeout: 120_000 }, async (t) => {
  const { root, cfg } = await job(t, 'password:\n  command: "sleep 600"\n  timeout: 2s');
  const start = elapsedMs();
  const r = await strata(['--config', cfg, '--state', path.join(root, 'state'), 'backup', '--tier', 'weekly'], { timeoutMs: 60_000 });
  assert.equal(r.code, 12, show(r));
  assert.ok(elapsedMs() - start < 30_000, `stopped after the timeout (took ${elapsedMs() - start} ms)`);
  assert.match(r.stderr, /password command .*(did not finish|timed out).*2 s/i, show(r));
});

test('a password command waiting for input gets no terminal input (stdin is empty) and fails instead of hanging', { timeout: 120_000 }, async (t) => {
  const { root, cfg } = await job(t, 'password:\n  command: "read -r pw; test -n \\"$pw\\" && echo \\"$pw\\""');
  const r = await strata(['--config', cfg, '--state', path.join(root, 'state'), 'backup', '--tier', 'weekly'], { timeoutMs: 60_000 });
  assert.equal(r.code, 12, show(r));
});

test('a failing password command: its stderr is shown (prefixed), its stdout never, exit 12', { timeout: 120_000 }, async (t) => {
  const { root, cfg } = await job(t, 'password:\n  command: "echo leaked-secret; echo vault is locked >&2; exit 3"');
  const r = await strata(['--config', cfg, '--state', path.join(root, 'state'), 'backup', '--tier', 'weekly'], { timeoutMs: 60_000 });
  assert.equal(r.code, 12, show(r));
  assert.match(r.stderr, /password command: vault is locked/, show(r));
  assert.match(r.stderr, /password command exited with status 3/, show(r));
  assert.doesNotMatch(r.stderr + r.stdout, /leaked-secret/, show(r));
});
