/** `strata cloud template`: the CloudFormation template written by the CLI, from the job's retention when there is a config. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { parse } from 'yaml';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import { templateProblems } from '../helpers/cfn-spec.js';

type Json = Record<string, unknown>;
const get = (v: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((cur, k) => (typeof cur === 'object' && cur !== null ? (cur as Json)[k] : undefined), v);

test('strata cloud template prints a valid template and says how to deploy it (no config: default retention)', async (t) => {
  const dir = await tempDir(t);
  const r = await strata(['cloud', 'template'], { cwd: dir, env: { STRATA_CONFIG: undefined } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /default retention/);
  assert.match(r.stderr, /--region REPLICA_REGION .*--template-file FILE/);
  assert.match(r.stderr, /--region PRIMARY_REGION .*--capabilities CAPABILITY_NAMED_IAM/);
  assert.ok(r.stderr.indexOf('Role=replica') < r.stderr.indexOf('Role=primary'), 'the replica stack comes first');
  const template = parse(r.stdout, { version: '1.1' }) as unknown;
  assert.deepEqual(templateProblems(template), []);
  assert.equal(get(template, 'Parameters', 'Deletion', 'Default'), 'strata');
  assert.equal(get(template, 'Parameters', 'WeeklyExpiryDays', 'Default'), 120);
});

test("strata cloud template follows the job's retention, deleteBy and prefix, and never replaces the config", async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'src'));
  const config = [
    'job: laptop',
    'sources:',
    `  - path: ${path.join(dir, 'src')}`,
    '    name: docs',
    'destination: s3://bkt/team/backups?region=eu-central-1',
    'retention:',
    '  weekly: 26w',
    '  deleteBy: tag',
    '',
  ].join('\n');
  await writeFile(path.join(dir, 'strata.yaml'), config);
  const env = { STRATA_CONFIG: undefined };
  const out = await strata(['cloud', 'template', '--out', 'cfn.yaml'], { cwd: dir, env });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /wrote cfn\.yaml \(lifecycle rules from the retention of .*strata\.yaml\)/);
  assert.match(out.stdout, /--region PRIMARY_REGION .*--template-file cfn\.yaml --capabilities CAPABILITY_NAMED_IAM/);
  const template = parse(await readFile(path.join(dir, 'cfn.yaml'), 'utf8'), { version: '1.1' }) as unknown;
  assert.deepEqual(templateProblems(template), []);
  assert.equal(get(template, 'Parameters', 'Deletion', 'Default'), 's3');
  // 26 weeks = 182 days, + a 30-day margin: the safety net follows the job's weekly retention.
  assert.equal(get(template, 'Parameters', 'WeeklyExpiryDays', 'Default'), 212);
  assert.equal(get(template, 'Resources', 'PrimaryBucket', 'Properties', 'ReplicationConfiguration', 'Rules', '0', 'Filter', 'Prefix'), 'team/backups/');

  // ./strata.yaml is the job's config: --out onto it (or onto any file that is no template) is refused.
  const r = await strata(['cloud', 'template', '--out', 'strata.yaml'], { cwd: dir, env });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /strata\.yaml exists and is no CloudFormation template: not replaced/);
  assert.equal(await readFile(path.join(dir, 'strata.yaml'), 'utf8'), config);
  // A template made before is replaced.
  const again = await strata(['cloud', 'template', '-o', 'cfn.yaml'], { cwd: dir, env });
  assert.equal(again.code, 0, again.stderr);
});
