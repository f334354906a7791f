/** strata help CMD / CMD --help: every option with its help, examples; short flags -t and -c. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadCommands } from '../../src/cli/registry.js';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const commands = await loadCommands();

/** checkHelp: `help CMD` shows the usage, every option with its help and every example; `CMD --help` prints the same. */
async function checkHelp(c: (typeof commands)[number]): Promise<void> {
  const [a, b] = await Promise.all([strata(['help', c.name]), strata([c.name, '--help'])]);
  assert.equal(a.code, 0, `${c.name}: ${a.stderr}`);
  assert.ok(a.stdout.startsWith(`usage: strata ${c.usage}\n`), c.name);
  for (const [long, o] of Object.entries(c.options ?? {})) {
    assert.match(a.stdout, new RegExp(`${o.short === undefined ? '' : `-${o.short}, `}--${long}\\b.*${o.help.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), `${c.name} --${long}`);
  }
  for (const e of c.examples ?? []) assert.ok(a.stdout.includes(`  ${e}\n`), `${c.name}: example ${e}`);
  assert.equal(b.code, 0);
  assert.equal(b.stdout, a.stdout, `${c.name}: --help and help print the same`);
}

test('help for every command lists each of its options and its examples, the same both ways', async () => {
  // Two runs per command at once, two commands at a time (separate processes; none writes anything).
  const queue = [...commands];
  const checked: string[] = [];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
      await checkHelp(c);
      checked.push(c.name);
    }
  };
  await Promise.all([worker(), worker()]);
  assert.deepEqual(checked.sort(), commands.map((c) => c.name).sort(), 'every command checked');
  // The verbs a person uses every day have examples, and restore says where it writes by default.
  for (const name of ['backup', 'restore', 'verify', 'list']) assert.ok((commands.find((c) => c.name === name)?.examples ?? []).length >= 2, name);
  assert.match((await strata(['help', 'restore'])).stdout, /--to DIR +where to restore \(default: \.\/restored/);
  const unknown = await strata(['help', 'bakup']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Did you mean "strata backup"/);
});

test('short flags: -t is --tier, -c is --config', async (t) => {
  const bad = await strata(['backup', '-t', 'hourly']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown tier "hourly"/);
  const dir = await tempDir(t, 'strata-short-');
  const file = path.join(dir, 'c.yaml');
  await writeFile(file, `sources:\n  - path: ${dir}\ndestination: ${dir}/dest\n`);
  const ok = await strata(['-c', file, 'config', 'check']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /c\.yaml: OK/);
  const missing = await strata(['-c']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /-c needs a value/);
});
