/** strata completion: the bash script is loaded into a real bash and asked what it completes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadCommands } from '../../src/cli/registry.js';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const commands = await loadCommands();

test('bash completion completes commands, each command\'s flags and tier values', async (t) => {
  const dir = await tempDir(t, 'strata-completion-');
  const script = path.join(dir, 'strata.bash');
  const r = await strata(['completion', 'bash']);
  assert.equal(r.code, 0, r.stderr);
  await writeFile(script, r.stdout);
  const ask = (...words: string[]): string =>
    execFileSync('bash', ['--norc', '--noprofile', '-c', `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _strata; echo "\${COMPREPLY[*]}"`, 'ask', script, ...words], { encoding: 'utf8' }).trim();
  assert.equal(ask('strata', 'bac'), 'backup');
  assert.equal(ask('strata', 'backup', '--ti'), '--tier');
  assert.equal(ask('strata', 'backup', '-t', 'mon'), 'monthly');
  assert.equal(ask('strata', '-c', 'x.yaml', 'res'), 'restore');
  assert.equal(ask('strata', 'restore', '--no-'), '--no-owner');
  assert.equal(ask('strata', 'help', 'chec'), 'check-destination');
  // Every declared flag of every command is offered after the command.
  for (const c of commands) {
    const offered = new Set(ask('strata', c.name, '-').split(' '));
    for (const long of Object.keys(c.options ?? {})) assert.ok(offered.has(`--${long}`), `${c.name} --${long}`);
  }
  // The script registers itself for the strata command.
  assert.match(execFileSync('bash', ['--norc', '--noprofile', '-c', `source "$1"; complete -p strata`, 'x', script], { encoding: 'utf8' }), /-F _strata strata/);
});

test('zsh and fish scripts name every command; an unknown shell is a usage error', async () => {
  const zsh = await strata(['completion', 'zsh']);
  assert.equal(zsh.code, 0);
  assert.match(zsh.stdout, /bashcompinit/);
  const fish = await strata(['completion', 'fish']);
  assert.equal(fish.code, 0);
  for (const c of commands) assert.match(fish.stdout, new RegExp(`__fish_use_subcommand' -a '[^']*\\b${c.name}\\b`));
  assert.match(fish.stdout, /__fish_seen_subcommand_from backup' -l tier -s t -r -a 'daily weekly monthly yearly auto'/);
  const bad = await strata(['completion', 'tcsh']);
  assert.equal(bad.code, 2);
});
