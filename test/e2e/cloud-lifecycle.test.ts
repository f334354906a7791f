/**
 * `strata cloud lifecycle --apply` on the real Ceph RGW test server, whose lifecycle day lasts 10 s
 * (`rgw lc debug interval = 10`; measured: a rule of 1 day acts 20–40 s after it is set).
 *
 * The bucket refuses DeleteObject to everyone (a bucket policy), as backup credentials without
 * delete permission would: a job with `retention.deleteBy: tag` backs up and prunes through it,
 * prune tags the expired set `expire=yes`, and the rule by that tag deletes it. The weekly sets'
 * data objects (kind=data) move to GLACIER by the rules (a test-only day count: the production
 * 7/30-day steps would take minutes here), while their descriptor, manifest and RESTORE.txt
 * (kind=meta) stay STANDARD; `strata list` and restore of the kept sets work (RGW stores the class
 * but serves GLACIER objects without a restore request: archive semantics are not tested here).
 * A set whose objects lack the kind tag (made before it existed) gets it from the next run's prune,
 * and a kept set that carries the expiry tag loses it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DeleteObjectCommand, PutBucketPolicyCommand, PutObjectTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Backend } from '../../src/backend/s3.js';
import { objectKind } from '../../src/core/keys.js';
import { testServerEnv } from '../backend/conformance.js';
import { tempDir } from '../helpers/tmp.js';
import { assertSameTree, cli, jsonOf, snapshot, type Snapshot } from './util.js';

const env = testServerEnv('cloud lifecycle on RGW', ['STRATA_TEST_S3_ENDPOINT', 'STRATA_TEST_S3_KEY', 'STRATA_TEST_S3_SECRET'] as const);

interface BackupJson {
  sources: { setId: string | null }[];
}
interface ListJson {
  sets: { id: string }[];
}

if (env !== undefined) {
  describe('strata cloud lifecycle on the real Ceph RGW', () => {
    it('data of weekly sets moves to GLACIER, the set prune tagged expire=yes disappears, meta stays; no DeleteObject ever; list and restore work', async (t) => {
      const bucket = `strata-lc-${randomBytes(4).toString('hex')}`;
      const credentials = { accessKeyId: env.STRATA_TEST_S3_KEY, secretAccessKey: env.STRATA_TEST_S3_SECRET };
      const s3 = new S3Backend({ bucket, prefix: 'lc', endpoint: env.STRATA_TEST_S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials });
      t.after(() => s3.close());
      await s3.createBucket();
      const client: S3Client = s3.client;
      // No one may delete an object of this bucket: every deletion must go through the lifecycle rule.
      const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: [`arn:aws:s3:::${bucket}/*`] }] };
      await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(policy) }));
      await assert.rejects(client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'lc/probe' })), /AccessDenied|denied/i);

      const root = await tempDir(t, 'strata-cloud-lc-');
      const src = path.join(root, 'docs');
      await fsp.mkdir(src);
      const config = path.join(root, 'strata.yaml');
      const dest = `s3://${bucket}/lc?endpoint=${encodeURIComponent(env.STRATA_TEST_S3_ENDPOINT)}&pathStyle=true`;
      await fsp.writeFile(config, `job: lc\nsources:\n  - path: ${src}\n    name: docs\ndestination: ${JSON.stringify(dest)}\nretention:\n  daily: 7d\n  weekly: 5y\n  monthly: 5y\n  yearly: 5y\n  pruneAfterBackup: true\n  deleteBy: tag\n`);
      const runEnv = { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_PROFILE: undefined, AWS_REGION: undefined };
      const run = (args: string[], now: string, expect = 0): ReturnType<typeof cli> => cli(['--config', config, '--state', path.join(root, 'state'), ...args], { now, expect, env: runEnv });
      const states = new Map<string, Snapshot>();
      const backupOn = async (date: string, n: number): Promise<string> => {
        await fsp.writeFile(path.join(src, `day-${n}.txt`), `written on ${date}\n`.repeat(50 + n));
        const r = jsonOf<BackupJson>(await run(['--json', 'backup', '-t', 'auto'], `${date}T09:00:00Z`));
        const id = r.sources[0]?.setId;
        assert.ok(typeof id === 'string', `a set was made on ${date}`);
        states.set(id, await snapshot(src));
        return id;
      };
      // A set's objects, without the in-progress markers (tagged expire=yes: the rule deletes them too).
      const keysOf = async (id: string): Promise<string[]> => {
        const keys: string[] = [];
        for await (const o of s3.list(`${id}/`)) if (!o.key.endsWith('.pending')) keys.push(o.key);
        return keys;
      };

      const a = await backupOn('2027-01-03', 0); // Sunday: weekly FULL
      // A set made before the kind tag existed: its objects carry tier, type and set only.
      for (const key of await keysOf(a)) {
        await client.send(new PutObjectTaggingCommand({ Bucket: bucket, Key: `lc/${key}`, Tagging: { TagSet: [{ Key: 'tier', Value: 'weekly' }, { Key: 'type', Value: 'FULL' }, { Key: 'set', Value: a }] } }));
      }
      const b = await backupOn('2027-01-04', 1); // daily INCR on a
      const c = await backupOn('2027-01-10', 2); // Sunday: weekly FULL
      // Daily sets are kept 7 days: on the 12th, b has expired and no kept set needs it (d builds on c).
      await fsp.writeFile(path.join(src, 'day-3.txt'), 'written on 2027-01-12\n');
      const dRun = jsonOf<{ prune: { tagged?: string[]; removed: string[] } | null }>(await run(['--json', 'backup', '-t', 'auto'], '2027-01-12T09:00:00Z'));
      assert.deepEqual(dRun.prune?.tagged, [b], 'the prune after the backup tagged the expired daily set');
      assert.deepEqual(dRun.prune.removed, []);
      const d = [...(await setIds(s3))].find((id) => ![a, b, c].includes(id));
      assert.ok(d !== undefined, 'the INCR of the 12th was made');
      states.set(d, await snapshot(src));

      // The next run's prune gave a's objects their kind; every object of every set carries its tags.
      for (const id of [a, b, c, d]) {
        for (const key of await keysOf(id)) {
          const tags = (await s3.stat(key)).tags ?? {};
          const name = key.slice(id.length + 1);
          assert.equal(tags['kind'], objectKind(id, name), `${key} carries kind=${objectKind(id, name)}`);
          assert.equal(tags['set'], id);
          assert.equal(tags['expire'], id === b ? 'yes' : undefined, `${key}: only the expired set is tagged for deletion`);
        }
      }

      // A kept set that carries the expiry tag (say the retention was lengthened after a prune) loses it at the next prune.
      const cKeys = await keysOf(c);
      for (const key of [cKeys[0] ?? '', `${c}/${c}.strata.json`]) {
        const tags = (await s3.stat(key)).tags ?? {};
        assert.ok(await s3.retag(key, { ...tags, expire: 'yes' }));
      }
      const pruned = jsonOf<{ tagged?: string[]; retagged?: string[] }>(await run(['--json', 'prune', '--apply'], '2027-01-12T09:30:00Z'));
      assert.deepEqual(pruned.retagged, [c]);
      assert.deepEqual(pruned.tagged, [b], 'the expired set is found tagged already and stays so');
      for (const key of cKeys) assert.equal((await s3.stat(key)).tags?.['expire'], undefined, `${key} lost the expiry tag`);

      // The in-progress markers were not deleted either: they are tagged for the rule to delete.
      const markers: string[] = [];
      for await (const o of s3.list('')) if (o.key.endsWith('.pending')) markers.push(o.key);
      assert.equal(markers.length, 4, markers.join(', '));
      for (const k of markers) assert.equal((await s3.stat(k)).tags?.['expire'], 'yes', `${k} is left for the lifecycle rule`);

      // The rules, with a test-only day count: weekly data to GLACIER after 1 lifecycle day (10 s).
      const applied = await cli(['--config', config, 'cloud', 'lifecycle', '--apply'], { env: { ...runEnv, STRATA_TEST_LIFECYCLE_STEPS: JSON.stringify({ weekly: [{ days: 1, kind: 'archive' }] }) } });
      assert.match(applied.stdout, /^strata-weekly-data-transitions {2}\[prefix lc\/, tier=weekly, kind=data\]\n {2}day 1 → GLACIER$/m);
      assert.match(applied.stdout, /^strata-expire-by-tag {2}\[prefix lc\/, expire=yes\]$/m);
      assert.match(applied.stdout, /set \d+ lifecycle rules on bucket/);

      // Wait for RGW's lifecycle run (measured 20–40 s; 100 s at most).
      const weeklyData = [...(await keysOf(a)), ...(await keysOf(c))].filter((k) => objectKind(k.slice(0, k.indexOf('/')), k) === 'data');
      const weeklyMeta = [...(await keysOf(a)), ...(await keysOf(c)), ...(await keysOf(d))].filter((k) => objectKind(k.slice(0, k.indexOf('/')), k) === 'meta');
      assert.ok(weeklyData.length >= 4 && weeklyMeta.length >= 6, `${weeklyData.length} data and ${weeklyMeta.length} meta objects`);
      const deadline = performance.now() + 100_000;
      let classes: string[] = [];
      let left: string[] = [];
      for (;;) {
        classes = await Promise.all(weeklyData.map((k) => s3.storageClassOf(k)));
        left = await keysOf(b);
        if ((classes.every((x) => x === 'GLACIER') && left.length === 0) || performance.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
      assert.deepEqual(left, [], `the set tagged for expiry (${b}) is gone`);
      assert.deepEqual(classes, weeklyData.map(() => 'GLACIER'), 'every data object of the weekly sets is in GLACIER');
      for (const k of weeklyMeta) assert.equal(await s3.storageClassOf(k), 'STANDARD', `${k} (meta) stays in STANDARD`);
      for (const k of await keysOf(d)) assert.equal(await s3.storageClassOf(k), 'STANDARD', `${k}: daily sets do not move`);

      const listed = jsonOf<ListJson>(await run(['--json', 'list'], '2027-01-12T10:00:00Z'));
      assert.deepEqual(listed.sets.map((s) => s.id).sort(), [a, c, d].sort());
      for (const id of [c, d]) {
        const to = path.join(root, `restored-${id}`);
        await run(['restore', '--quiet', '--set', id, '--to', to], '2027-01-12T10:00:00Z');
        const want = states.get(id);
        assert.ok(want !== undefined);
        assertSameTree(await snapshot(to), want);
      }
    });
  });
}

async function setIds(s3: S3Backend): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const o of s3.list('')) if (o.key.includes('/')) ids.add(o.key.slice(0, o.key.indexOf('/')));
  return ids;
}
