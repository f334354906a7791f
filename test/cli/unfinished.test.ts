/**
 * cli/unfinished: a command whose awaited work can never settle must not end the process with
 * exit 0 (Node exits 0 when its event loop is empty, whatever is still awaited).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MODULE = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/unfinished.js')).href;

function runWith(body: string): { status: number | null; stderr: string } {
  const script = `import { untilFinished } from ${JSON.stringify(MODULE)};\nprocess.exitCode = await untilFinished(${body});\n`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

test('a command that never finishes, with nothing left to wait for, exits 1 with an internal error, not 0', () => {
  const r = runWith('() => new Promise(() => {})');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /internal error: the command stopped before it finished/);
});

test('a command that finishes gives its own exit code and says nothing more', () => {
  const ok = runWith('async () => { await new Promise((r) => setTimeout(r, 20)); return 0; }');
  assert.equal(ok.status, 0, ok.stderr);
  assert.equal(ok.stderr, '');
  const damaged = runWith('async () => 13');
  assert.equal(damaged.status, 13, damaged.stderr);
});
