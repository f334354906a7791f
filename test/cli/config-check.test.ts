/** `strata config check`: validates a config without running anything (exit 0 / 2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

test('config check: OK for a usable file, exit 2 with the line of each problem, nothing written anywhere', async (t) => {
  const dir = await tempDir(t, 'strata-config-check-');
  const src = path.join(dir, 'docs');
  const dest = path.join(dir, 'dest');
  await mkdir(src);
  await mkdir(dest);
  const state = path.join(dir, 'state');
  const good = path.join(dir, 'good.yaml');
  await writeFile(good, `job: laptop\nsources:\n  - path: ${src}\n    name: docs\ndestination: s3://bkt/p?region=eu-1&accessKeyId=AKIA1&secretAccessKey=TOPSECRET\n`);
  const ok = await strata(['--config', good, '--state', state, 'config', 'check']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /good\.yaml: OK/);
  assert.match(ok.stdout, /source docs: /);
  assert.doesNotMatch(ok.stdout + ok.stderr, /TOPSECRET/);
  const json = await strata(['--config', good, '--state', state, '--json', 'config', 'check']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual((JSON.parse(json.stdout) as { sources: { name: string }[] }).sources.map((s) => s.name), ['docs']);

  const typo = path.join(dir, 'typo.yaml');
  await writeFile(typo, `sources:\n  - path: ${src}\njob:laptop\ndestination: ${dest}\n`);
  const bad = await strata(['--config', typo, '--state', state, 'config', 'check']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /typo\.yaml:3:1: YAML syntax error/);
  assert.match(bad.stderr, /"job: laptop"/);

  const missing = path.join(dir, 'missing.yaml');
  await writeFile(missing, `sources:\n  - path: ${src}\n  - path: ${path.join(dir, 'unmounted')}\ndestination: ${dest}\n`);
  const gone = await strata(['--config', missing, '--state', state, 'config', 'check']);
  assert.equal(gone.code, 2);
  assert.match(gone.stderr, /missing\.yaml:3:5: source unmounted: .*unmounted does not exist/);

  const sub = await strata(['--config', good, '--state', state, 'config', 'chek']);
  assert.equal(sub.code, 2);
  assert.match(sub.stderr, /unknown subcommand/);
  // Nothing ran: no state folder, nothing on the destination.
  await assert.rejects(readdir(state), { code: 'ENOENT' });
  assert.deepEqual(await readdir(dest), []);
});
