/** `strata cloud lifecycle`: the subcommand parsed, the rules printed without contacting the bucket, a non-S3 destination refused. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

interface LifecycleJson {
  bucket: string;
  prefix: string;
  applied: boolean;
  deleteBy: string;
  lifecycleConfiguration: { Rules: { ID: string }[] };
  corrections: string[];
}

test('cloud lifecycle: prints the rules (--json: the LifecycleConfiguration); usage errors for a missing or unknown subcommand and a non-S3 destination', async (t) => {
  const dir = await tempDir(t, 'strata-cloud-');
  const state = ['--state', dir];
  // Without --apply nothing is contacted: an unreachable endpoint is fine.
  const dest = 's3://bkt/backups?endpoint=http://127.0.0.1:9&pathStyle=true';
  const printed = await strata([...state, 'cloud', 'lifecycle', '--dest', dest]);
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /^strata-yearly-data-transitions {2}\[prefix backups\/, tier=yearly, kind=data\]\n {2}day 7 → INTELLIGENT_TIERING; day 30 → GLACIER; day 180 → DEEP_ARCHIVE$/m);
  assert.match(printed.stdout, /not applied: run "strata cloud lifecycle --apply" to set these 10 rules on bucket bkt/);
  const json = await strata([...state, '--json', 'cloud', 'lifecycle', '--dest', dest]);
  assert.equal(json.code, 0, json.stderr);
  const j = JSON.parse(json.stdout) as LifecycleJson;
  assert.equal(j.bucket, 'bkt');
  assert.equal(j.prefix, 'backups/');
  assert.equal(j.applied, false);
  assert.equal(j.deleteBy, 'strata');
  assert.ok(!j.lifecycleConfiguration.Rules.some((r) => r.ID === 'strata-expire-by-tag'), 'no rule by the expiry tag when strata deletes');
  assert.ok(j.corrections.length > 0);

  const local = await strata([...state, 'cloud', 'lifecycle', '--apply', '--dest', dir]);
  assert.equal(local.code, 2);
  assert.match(local.stderr, /cloud lifecycle: the destination is local, not S3/);
  assert.match(local.stderr, /strata prune --apply/);
  const none = await strata([...state, 'cloud']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /cloud: say what to do/);
  const typo = await strata([...state, 'cloud', 'lifecycel']);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown subcommand "lifecycel"/);
});
