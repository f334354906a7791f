/**
 * The CloudFormation template `strata cloud template` writes: checked against AWS's published
 * resource schemas (@aws-cdk/aws-service-spec, test/helpers/cfn-spec) as CloudFormation reads the
 * YAML (YAML 1.1: an unquoted `yes` would be a boolean), every lifecycle rule against S3's
 * transition constraints (the planner's validateLifecycle), the IAM policies against what strata's
 * S3 backend sends; and the checker itself shown to fail on wrong templates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { cloudFormationTemplate, templateYaml, type CfnLifecycleRule } from '../../../src/core/cloud/cfn-template.js';
import { templateInput, type TemplateOptions } from '../../../src/core/cloud/cfn-input.js';
import { validateLifecycle, type LifecycleRule, type StorageClass } from '../../../src/core/cloud/lifecycle-rules.js';
import { templateProblems } from '../../helpers/cfn-spec.js';

type Json = Record<string, unknown>;
type Key = string | number;

/** get walks a parsed template along `keys` (undefined where there is nothing). */
function get(v: unknown, ...keys: Key[]): unknown {
  let cur = v;
  for (const k of keys) cur = typeof cur === 'object' && cur !== null ? (cur as Record<Key, unknown>)[k] : undefined;
  return cur;
}
const obj = (v: unknown): Json => {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `an object: ${JSON.stringify(v)}`);
  return v as Json;
};
const arr = (v: unknown): unknown[] => {
  assert.ok(Array.isArray(v), `a list: ${JSON.stringify(v)}`);
  return v as unknown[];
};
/** set changes the value at `keys` (the last key names it in its parent; it must exist unless `add`); undefined removes it. */
function set(t: unknown, keys: Key[], value: unknown, add = false): void {
  const parent = get(t, ...keys.slice(0, -1)) as Record<Key, unknown>;
  const last = keys[keys.length - 1] ?? '';
  assert.ok(typeof parent === 'object' && parent !== null && (add || last in parent), `${keys.join('.')} exists`);
  if (value === undefined) Reflect.deleteProperty(parent, last);
  else parent[last] = value;
}

/** parsed is the template as CloudFormation reads it: the YAML text, parsed as YAML 1.1. */
function parsed(o: Partial<TemplateOptions> = {}): Json {
  return obj(parse(templateYaml(cloudFormationTemplate(templateInput({ version: '0.0.0-test', ...o }))), { version: '1.1' }));
}

/** rulesOf lists a bucket's lifecycle rules. */
const rulesOf = (t: unknown, bucket: string): CfnLifecycleRule[] => arr(get(t, 'Resources', bucket, 'Properties', 'LifecycleConfiguration', 'Rules')) as CfnLifecycleRule[];
/** ruleIndex is the index of the first rule of the primary bucket that `f` accepts. */
const ruleIndex = (t: unknown, f: (r: CfnLifecycleRule) => boolean): number => rulesOf(t, 'PrimaryBucket').findIndex(f);
const RULES = ['Resources', 'PrimaryBucket', 'Properties', 'LifecycleConfiguration', 'Rules'];

const VARIANTS: [string, Partial<TemplateOptions>][] = [
  ['default retention', {}],
  ['a prefix, deleteBy tag, yearly forever, weekly 1y', { prefix: 'backups/', deleteByTag: true, retention: { daily: { n: 14, unit: 'd' }, weekly: { n: 1, unit: 'y' }, monthly: { n: 2, unit: 'y' }, yearly: 'forever' } }],
];

for (const [name, o] of VARIANTS) {
  test(`the template validates against the AWS resource schemas (${name})`, () => {
    assert.deepEqual(templateProblems(parsed(o)), []);
  });

  test(`every lifecycle rule keeps S3's transition constraints, with each days parameter at its default and at its MinValue (${name})`, () => {
    const t = parsed(o);
    for (const pick of ['Default', 'MinValue'] as const) {
      const days = (v: unknown): number => {
        if (typeof v === 'number') return v;
        const name = String(get(v, 'Ref'));
        const value = get(t, 'Parameters', name, pick);
        assert.equal(typeof value, 'number', `parameter ${name} has a numeric ${pick}`);
        return value as number;
      };
      for (const bucket of ['PrimaryBucket', 'ReplicaBucket']) {
        const rules = rulesOf(t, bucket);
        assert.ok(rules.length > 0);
        const problems = validateLifecycle({ Rules: rules.map((r) => toS3Rule(r, days)) });
        assert.deepEqual(problems, [], `${bucket} with parameters at ${pick}`);
      }
    }
  });
}

/** toS3Rule reads a CloudFormation rule back into the S3 API's form the planner's validator checks. */
function toS3Rule(r: CfnLifecycleRule, days: (v: unknown) => number): LifecycleRule {
  const prefix = r.Prefix ?? '';
  const tags = r.TagFilters ?? [];
  const out: LifecycleRule = { ID: r.Id, Status: r.Status, Filter: tags.length > 0 ? { And: { Prefix: prefix, Tags: tags } } : { Prefix: prefix } };
  if (r.Transitions !== undefined) out.Transitions = r.Transitions.map((x) => ({ Days: x.TransitionInDays, StorageClass: x.StorageClass as StorageClass }));
  if (r.ExpirationInDays !== undefined) out.Expiration = { Days: days(r.ExpirationInDays) };
  if (r.ExpiredObjectDeleteMarker === true) out.Expiration = { ExpiredObjectDeleteMarker: true };
  if (r.NoncurrentVersionExpiration !== undefined) out.NoncurrentVersionExpiration = { NoncurrentDays: days(r.NoncurrentVersionExpiration.NoncurrentDays) };
  if (r.AbortIncompleteMultipartUpload !== undefined) out.AbortIncompleteMultipartUpload = r.AbortIncompleteMultipartUpload;
  return out;
}

test('the lifecycle rules keep their tag values as strings through YAML 1.1 (expire=yes is not a boolean)', () => {
  const expire = rulesOf(parsed(), 'PrimaryBucket').find((r) => r.Id === 'strata-expire-by-tag');
  assert.deepEqual(expire?.TagFilters, [{ Key: 'expire', Value: 'yes' }]);
  assert.equal(get(parsed(), 'AWSTemplateFormatVersion'), '2010-09-09');
});

test('the template fits the 51,200 bytes `aws cloudformation deploy` takes without --s3-bucket', () => {
  for (const [, o] of VARIANTS) assert.ok(Buffer.byteLength(templateYaml(cloudFormationTemplate(templateInput({ version: '0.0.0-test', ...o })))) < 51_200);
});

/** WRONG: deliberate mistakes, each of which the checker must report (a test of the checker itself). */
const WRONG: [string, (t: Json) => void, RegExp][] = [
  ['a misspelt nested property (LifecycleConfiguration.Rule)', (t) => set(t, [...RULES, 0, 'ExpirationDays'], 5, true), /ExpirationDays: is no property of Rule/],
  ['a misspelt resource property', (t) => set(t, ['Resources', 'PrimaryBucket', 'Properties', 'Versioning'], { Status: 'Enabled' }, true), /Versioning: is no property of AWS::S3::Bucket/],
  ['a string where Transition.TransitionInDays needs an integer', (t) => set(t, [...RULES, ruleIndex(t, (r) => r.Transitions !== undefined), 'Transitions', 0, 'TransitionInDays'], '7'), /TransitionInDays: expected an integer/],
  ['a storage class AWS does not know', (t) => set(t, [...RULES, ruleIndex(t, (r) => r.Transitions !== undefined), 'Transitions', 0, 'StorageClass'], 'GLACIER_FAST'), /"GLACIER_FAST" is not one of/],
  ['a missing required property (ReplicationConfiguration.Rule.Destination)', (t) => set(t, ['Resources', 'PrimaryBucket', 'Properties', 'ReplicationConfiguration', 'Rules', 0, 'Destination'], undefined), /ReplicationRule requires Destination/],
  ['a boolean where a string is expected (an unquoted yes in YAML 1.1)', (t) => set(t, [...RULES, ruleIndex(t, (r) => r.Id === 'strata-expire-by-tag'), 'TagFilters', 0, 'Value'], true), /Value: expected a string, got true/],
  ['an unknown resource type', (t) => set(t, ['Resources', 'BackupUser', 'Type'], 'AWS::IAM::Usr'), /"AWS::IAM::Usr" is no resource type/],
  ['a Ref to no parameter', (t) => set(t, ['Resources', 'PrimaryBucket', 'Properties', 'BucketName'], { Ref: 'BucketName' }), /names "BucketName", which is no parameter/],
  [
    'an Fn::Sub variable that names nothing',
    (t) => set(t, ['Resources', 'ReplicationRole', 'Properties', 'Policies', 0, 'PolicyDocument', 'Statement', 0, 'Resource'], { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${PrimaryBucket}x${Bucket}' }),
    /names "Bucket"/,
  ],
  ['an Fn::GetAtt of no attribute', (t) => set(t, ['Resources', 'PrimaryBucket', 'Properties', 'ReplicationConfiguration', 'Role'], { 'Fn::GetAtt': ['ReplicationRole', 'RoleArn'] }), /AWS::IAM::Role has no attribute "RoleArn"/],
  ['an Fn::If on no condition', (t) => set(t, ['Resources', 'BackupPolicy', 'Properties', 'Users', 'Fn::If', 0], 'MakeUser'), /names no condition: "MakeUser"/],
  ['a resource of one stack referenced from the other', (t) => set(t, ['Resources', 'ReplicaBucketPolicy', 'Properties', 'Bucket'], { Ref: 'PrimaryBucket' }), /exists only when IsPrimary holds/],
  ['a parameter default outside its constraint', (t) => set(t, ['Parameters', 'WeeklyExpiryDays', 'Default'], 1), /WeeklyExpiryDays.Default: is below MinValue/],
  ['an IAM action that is no action', (t) => set(t, ['Resources', 'BackupPolicy', 'Properties', 'PolicyDocument', 'Statement', 0, 'Action'], ['s3 ListBucket']), /"s3 ListBucket" is no action/],
];

for (const [what, change, expected] of WRONG) {
  test(`the schema check fails on ${what}`, () => {
    const t = parsed();
    change(t);
    const problems = templateProblems(t);
    assert.ok(
      problems.some((p) => expected.test(p)),
      `expected a problem matching ${String(expected)}, got: ${problems.join('\n')}`,
    );
  });
}

/** statements lists a managed policy's statements. */
function statements(t: unknown, resource: string): Json[] {
  return arr(get(t, 'Resources', resource, 'Properties', 'PolicyDocument', 'Statement')).map(obj);
}

const actionsOf = (s: Json): string[] => (Array.isArray(s['Action']) ? (s['Action'] as string[]) : [s['Action'] as string]);
const resourcesOf = (s: Json): unknown[] => (Array.isArray(s['Resource']) ? (s['Resource'] as unknown[]) : [s['Resource']]);
const subText = (r: unknown): string => String(get(r, 'Fn::Sub'));

/**
 * IAM_ACTION: the IAM action each S3 API call of strata's backend needs; null: not granted to the
 * backup credentials — CreateBucket (tests, first-time setup) and PutBucketLifecycleConfiguration
 * (`strata cloud lifecycle --apply`: on a stack's bucket the template sets the rules, and backup
 * credentials that could replace them could also set "expire everything tomorrow").
 */
const IAM_ACTION: Record<string, string | null> = {
  PutObjectCommand: 's3:PutObject',
  CreateMultipartUploadCommand: 's3:PutObject',
  UploadPartCommand: 's3:PutObject',
  CompleteMultipartUploadCommand: 's3:PutObject',
  AbortMultipartUploadCommand: 's3:AbortMultipartUpload',
  GetObjectCommand: 's3:GetObject',
  HeadObjectCommand: 's3:GetObject',
  GetObjectTaggingCommand: 's3:GetObjectTagging',
  PutObjectTaggingCommand: 's3:PutObjectTagging',
  ListObjectsV2Command: 's3:ListBucket',
  HeadBucketCommand: 's3:ListBucket',
  RestoreObjectCommand: 's3:RestoreObject',
  DeleteObjectCommand: 's3:DeleteObject',
  GetBucketLifecycleConfigurationCommand: 's3:GetLifecycleConfiguration',
  CreateBucketCommand: null,
  PutBucketLifecycleConfigurationCommand: null,
};

test("the backup policy allows every S3 call strata's backend makes except deletion, which only the prune policy allows", () => {
  const source = readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../src/backend/s3.ts'), 'utf8');
  const used = new Set([...source.matchAll(/new ([A-Za-z0-9]+Command)\(/g)].map((m) => m[1] ?? ''));
  assert.ok(used.has('PutObjectCommand') && used.has('ListObjectsV2Command'), "found the backend's calls");
  const t = parsed();
  const backup = statements(t, 'BackupPolicy');
  const allowed = new Set(backup.filter((s) => s['Effect'] === 'Allow').flatMap(actionsOf));
  for (const c of used) {
    assert.ok(c in IAM_ACTION, `src/backend/s3.ts sends ${c}: map it to its IAM action here and grant it in the backup policy (or say why not)`);
    const action = IAM_ACTION[c];
    if (action === null || action === undefined || action === 's3:DeleteObject') continue;
    assert.ok(allowed.has(action), `${c} needs ${action}`);
  }
  // No delete at all: with deleteBy: tag strata's removals are tags; with deleteBy: strata the prune policy deletes.
  assert.deepEqual(backup.flatMap(actionsOf).filter((a) => /Delete/.test(a)), []);
  assert.ok(statements(t, 'PrunePolicy').flatMap(actionsOf).includes(IAM_ACTION['DeleteObjectCommand'] ?? ''));
  const role = arr(get(t, 'Resources', 'ReplicationRole', 'Properties', 'Policies', 0, 'PolicyDocument', 'Statement')).map(obj);
  const granted = [...backup, ...statements(t, 'PrunePolicy'), ...role].filter((s) => s['Effect'] === 'Allow').flatMap(actionsOf);
  const tooMuch = granted.filter((a) => /\*|DeleteObjectVersion|PutBucket|PutLifecycle|PutReplication|DeleteBucket/.test(a));
  assert.deepEqual(tooMuch, [], 'no credential may erase versions or change the bucket');
});

test('the prune policy (Deletion=strata) adds DeleteObject on the sets, only when strata deletes; the user holds the policies only when asked', () => {
  const t = parsed();
  assert.equal(get(t, 'Resources', 'PrunePolicy', 'Condition'), 'StrataDeletes');
  assert.deepEqual(get(t, 'Conditions', 'StrataDeletes'), { 'Fn::And': [{ Condition: 'IsPrimary' }, { 'Fn::Equals': [{ Ref: 'Deletion' }, 'strata'] }] });
  assert.deepEqual(statements(t, 'PrunePolicy').flatMap(actionsOf), ['s3:DeleteObject']);
  assert.equal(get(t, 'Parameters', 'Deletion', 'Default'), 'strata');
  assert.equal(get(parsed({ deleteByTag: true }), 'Parameters', 'Deletion', 'Default'), 's3');
  assert.equal(get(t, 'Resources', 'BackupUser', 'Condition'), 'CreateUser');
  for (const p of ['BackupPolicy', 'PrunePolicy']) assert.deepEqual(get(t, 'Resources', p, 'Properties', 'Users'), { 'Fn::If': ['CreateUser', [{ Ref: 'BackupUser' }], { Ref: 'AWS::NoValue' }] });
  assert.doesNotMatch(JSON.stringify(t), /AWS::IAM::AccessKey/, 'no secret in the stack (its outputs would be plaintext)');
});

test('a prefix scopes the policies, the replication and the rules to the destination', () => {
  const t = parsed({ prefix: 'team/backups/' });
  const objects = statements(t, 'BackupPolicy').flatMap(resourcesOf).map(subText).filter((s) => s.includes('}/'));
  assert.ok(objects.length > 0 && objects.every((s) => s.includes('}/team/backups/*')), objects.join(', '));
  assert.equal(get(t, 'Resources', 'PrimaryBucket', 'Properties', 'ReplicationConfiguration', 'Rules', 0, 'Filter', 'Prefix'), 'team/backups/');
  assert.ok(rulesOf(t, 'PrimaryBucket').every((r) => r.Prefix === 'team/backups/'));
});

test('both buckets are versioned, encrypted, private and TLS-only; the primary replicates everything to the replica with a least-privilege role', () => {
  const t = parsed();
  for (const [bucket, policy, param] of [['PrimaryBucket', 'PrimaryBucketPolicy', 'PrimaryBucketName'], ['ReplicaBucket', 'ReplicaBucketPolicy', 'ReplicaBucketName']] as const) {
    const p = obj(get(t, 'Resources', bucket, 'Properties'));
    assert.deepEqual(p['VersioningConfiguration'], { Status: 'Enabled' });
    assert.equal(get(p, 'BucketEncryption', 'ServerSideEncryptionConfiguration', 0, 'ServerSideEncryptionByDefault', 'SSEAlgorithm'), 'AES256');
    assert.deepEqual(p['PublicAccessBlockConfiguration'], { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    assert.equal(get(t, 'Resources', bucket, 'DeletionPolicy'), 'Retain');
    const deny = statements(t, policy)[0] ?? {};
    assert.equal(deny['Effect'], 'Deny');
    assert.deepEqual(deny['Condition'], { Bool: { 'aws:SecureTransport': 'false' } });
    assert.deepEqual(resourcesOf(deny).map(subText), [`arn:\${AWS::Partition}:s3:::\${${param}}`, `arn:\${AWS::Partition}:s3:::\${${param}}/*`]);
  }
  assert.equal(get(t, 'Resources', 'PrimaryBucket', 'Condition'), 'IsPrimary');
  assert.equal(get(t, 'Resources', 'ReplicaBucket', 'Condition'), 'IsReplica');
  const rep = obj(get(t, 'Resources', 'PrimaryBucket', 'Properties', 'ReplicationConfiguration'));
  assert.deepEqual(rep['Role'], { 'Fn::GetAtt': ['ReplicationRole', 'Arn'] });
  assert.equal(arr(rep['Rules']).length, 1);
  assert.deepEqual(get(rep, 'Rules', 0, 'Filter'), { Prefix: '' });
  assert.deepEqual(get(rep, 'Rules', 0, 'Destination'), { Bucket: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${ReplicaBucketName}' } });
  const role = get(t, 'Resources', 'ReplicationRole', 'Properties');
  assert.deepEqual(get(role, 'AssumeRolePolicyDocument', 'Statement', 0, 'Principal'), { Service: 's3.amazonaws.com' });
  const granted = arr(get(role, 'Policies', 0, 'PolicyDocument', 'Statement')).map(obj).map((s) => [actionsOf(s).sort().join(' '), resourcesOf(s).map(subText).join(' ')]);
  assert.deepEqual(granted, [
    ['s3:GetReplicationConfiguration s3:ListBucket', 'arn:${AWS::Partition}:s3:::${PrimaryBucketName}'],
    ['s3:GetObjectVersionAcl s3:GetObjectVersionForReplication s3:GetObjectVersionTagging', 'arn:${AWS::Partition}:s3:::${PrimaryBucketName}/*'],
    ['s3:ReplicateDelete s3:ReplicateObject s3:ReplicateTags', 'arn:${AWS::Partition}:s3:::${ReplicaBucketName}/*'],
  ]);
  // Lifecycle deletions are not replicated: the replica has its own rules, expiry by tag included.
  const ids = (b: string): string[] => rulesOf(t, b).map((x) => x.Id);
  assert.ok(ids('ReplicaBucket').includes('strata-expire-by-tag'));
  assert.deepEqual(ids('ReplicaBucket'), ids('PrimaryBucket'));
});

test('the stacks refuse the wrong region and a replica in the primary region', () => {
  const t = parsed();
  assert.deepEqual(get(t, 'Rules', 'PrimaryStackInPrimaryRegion', 'Assertions', 0, 'Assert'), { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'PrimaryRegion' }] });
  assert.deepEqual(get(t, 'Rules', 'ReplicaStackInReplicaRegion', 'Assertions', 0, 'Assert'), { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'ReplicaRegion' }] });
  assert.deepEqual(get(t, 'Rules', 'ReplicaElsewhere', 'Assertions', 0, 'Assert'), { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PrimaryRegion' }, { Ref: 'ReplicaRegion' }] }] });
});
