/**
 * core/cloud/cfn-template: the AWS CloudFormation template `strata cloud template` writes, built
 * by a pure function from typed data (no IO) and serialised with the `yaml` package.
 *
 * One template, two stacks. A stack lives in one region, so the replica bucket "in another
 * region" cannot sit in the primary's stack: the template takes `Role` (primary | replica) and
 * is deployed twice, the replica stack first (replication needs the destination bucket, versioned,
 * before the source's ReplicationConfiguration names it), then the primary stack. CloudFormation
 * `Rules` refuse a stack deployed in the wrong region before any resource is made.
 *
 * - primary stack: the primary bucket (versioning, SSE-S3 default encryption, public access
 *   blocked, bucket owner enforced, a policy refusing non-TLS requests, the lifecycle rules, the
 *   replication of every object to the replica bucket), the replication role (least privilege),
 *   the backup credentials' managed policy, when strata deletes (Deletion=strata, the default
 *   prune) the prune policy, and optionally an IAM user holding them;
 * - replica stack: the replica bucket (the same protections, its own lifecycle rules).
 * IAM is global: the IAM resources are in the primary stack only.
 */
import { stringify } from 'yaml';

/** Intrinsic is a CloudFormation intrinsic function the template uses. */
export type Intrinsic =
  | { Ref: string }
  | { 'Fn::Sub': string }
  | { 'Fn::GetAtt': [string, string] }
  | { 'Fn::If': [string, CfnValue, CfnValue] }
  | { 'Fn::Equals': [CfnValue, CfnValue] }
  | { 'Fn::Not': [CfnValue] }
  | { 'Fn::And': CfnValue[] }
  | { Condition: string };

/** CfnValue is any value of a template: plain data or intrinsic functions. */
export type CfnValue = string | number | boolean | Intrinsic | CfnValue[] | { [key: string]: CfnValue };

/** ref, sub, getAtt, fnIf: the intrinsic functions, typed. */
export const ref = (name: string): Intrinsic => ({ Ref: name });
export const sub = (text: string): Intrinsic => ({ 'Fn::Sub': text });
export const getAtt = (resource: string, attribute: string): Intrinsic => ({ 'Fn::GetAtt': [resource, attribute] });
export const fnIf = (condition: string, then: CfnValue, otherwise: CfnValue): Intrinsic => ({ 'Fn::If': [condition, then, otherwise] });
const equals = (a: CfnValue, b: CfnValue): Intrinsic => ({ 'Fn::Equals': [a, b] });
const NO_VALUE = ref('AWS::NoValue');

/** CfnParameter is one entry of Parameters. */
export interface CfnParameter {
  Type: 'String' | 'Number';
  Description: string;
  Default?: string | number;
  AllowedValues?: (string | number)[];
  AllowedPattern?: string;
  ConstraintDescription?: string;
  MinValue?: number;
  MaxValue?: number;
  MinLength?: number;
  MaxLength?: number;
}

/** CfnResource is one entry of Resources. */
export interface CfnResource {
  Type: string;
  Condition?: string;
  DependsOn?: string[];
  DeletionPolicy?: 'Delete' | 'Retain' | 'RetainExceptOnCreate';
  UpdateReplacePolicy?: 'Delete' | 'Retain';
  Properties: Record<string, CfnValue>;
}

/** CfnRule is one entry of Rules: assertions checked before a stack is created or updated. */
export interface CfnRule {
  RuleCondition?: CfnValue;
  Assertions: { Assert: CfnValue; AssertDescription: string }[];
}

/** CfnOutput is one entry of Outputs. */
export interface CfnOutput {
  Description: string;
  Condition?: string;
  Value: CfnValue;
}

/** CfnTemplate is a whole template. */
export interface CfnTemplate {
  AWSTemplateFormatVersion: '2010-09-09';
  Description: string;
  Metadata: Record<string, CfnValue>;
  Parameters: Record<string, CfnParameter>;
  Rules: Record<string, CfnRule>;
  Conditions: Record<string, Intrinsic>;
  Resources: Record<string, CfnResource>;
  Outputs: Record<string, CfnOutput>;
}

/** CfnDays is a number of days: fixed, or a template parameter's value. */
export type CfnDays = number | { Ref: string };

/**
 * CfnLifecycleRule is one rule of AWS::S3::Bucket LifecycleConfiguration, in CloudFormation's
 * spelling (which differs from the S3 API's: TransitionInDays, ExpirationInDays, TagFilters).
 */
export interface CfnLifecycleRule {
  Id: string;
  Status: 'Enabled' | 'Disabled';
  Prefix?: string;
  TagFilters?: { Key: string; Value: string }[];
  Transitions?: { StorageClass: string; TransitionInDays: number }[];
  ExpirationInDays?: CfnDays;
  ExpiredObjectDeleteMarker?: boolean;
  NoncurrentVersionExpiration?: { NoncurrentDays: CfnDays };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
}

/** DaysParameter is a parameter holding days the lifecycle rules use (e.g. a tier's safety-net expiry). */
export interface DaysParameter {
  name: string;
  description: string;
  default: number;
  /** The least value the transition constraints allow (a class's minimum storage duration after the last transition). */
  min: number;
}

/** TemplateInput is everything the template is made of: the lifecycle rules come from the planner. */
export interface TemplateInput {
  /** strata's version, recorded in Metadata. */
  version: string;
  /** The primary bucket's lifecycle rules. */
  primaryRules: CfnLifecycleRule[];
  /** The replica bucket's lifecycle rules. */
  replicaRules: CfnLifecycleRule[];
  /** The parameters the rules refer to by Ref (days). */
  daysParameters: DaysParameter[];
  /** The tag key that marks a set's objects for deletion by S3 (the lifecycle rule deletes them). */
  expireTag: { Key: string; Value: string };
  /** Notes on each rule's choice and cost, recorded in Metadata. */
  notes: string[];
  /** The destination's key prefix in the bucket ('' or ending in '/'): policies, replication and rules stay inside it. */
  prefix: string;
  /** The Deletion parameter's default: the job's retention.deleteBy (tag → s3). */
  deletion: 'strata' | 's3';
}

const BUCKET_NAME = {
  AllowedPattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  ConstraintDescription: '3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit',
  MinLength: 3,
  MaxLength: 63,
} as const;
const REGION = { AllowedPattern: '^[a-z]{2}(-gov)?-[a-z]+-[0-9]$', ConstraintDescription: 'an AWS region such as eu-central-1' } as const;

function parameters(input: TemplateInput): Record<string, CfnParameter> {
  const p: Record<string, CfnParameter> = {
    Role: {
      Type: 'String',
      Description: 'Which stack this is: "replica" (deploy first, in ReplicaRegion) or "primary" (then, in PrimaryRegion)',
      AllowedValues: ['primary', 'replica'],
      Default: 'primary',
    },
    PrimaryBucketName: { Type: 'String', Description: "The primary bucket's name (strata's destination bucket)", ...BUCKET_NAME },
    ReplicaBucketName: { Type: 'String', Description: "The replica bucket's name (in the other region)", ...BUCKET_NAME },
    PrimaryRegion: { Type: 'String', Description: 'The region of the primary bucket (the primary stack is deployed there)', ...REGION },
    ReplicaRegion: { Type: 'String', Description: 'The region of the replica bucket (the replica stack is deployed there); not PrimaryRegion', ...REGION },
    Deletion: {
      Type: 'String',
      Description:
        'Who deletes: "strata" (the job has retention.deleteBy: strata; prune deletes; the backup credentials may delete) or "s3" (the job has retention.deleteBy: tag; strata tags what may go and a lifecycle rule deletes it; the backup credentials cannot delete)',
      AllowedValues: ['strata', 's3'],
      Default: input.deletion,
    },
    CreateUser: { Type: 'String', Description: 'Also create an IAM user holding the backup policy (make its access key yourself: aws iam create-access-key)', AllowedValues: ['false', 'true'], Default: 'false' },
    UserName: { Type: 'String', Description: 'The IAM user\'s name (when CreateUser is true)', Default: 'strata-backup', AllowedPattern: '^[A-Za-z0-9+=,.@_-]{1,64}$' },
  };
  for (const d of input.daysParameters) {
    p[d.name] = { Type: 'Number', Description: `${d.description}; at least ${d.min}`, Default: d.default, MinValue: d.min };
  }
  return p;
}

const bucketArn = (param: string): Intrinsic => sub(`arn:\${AWS::Partition}:s3:::\${${param}}`);
// A literal `${` in a key prefix is written `${!` in Fn::Sub.
const objectsArn = (param: string, pattern = '*'): Intrinsic => sub(`arn:\${AWS::Partition}:s3:::\${${param}}/${pattern.replaceAll('${', '${!')}`);

/** denyInsecureTransport is the bucket policy refusing every request not made over TLS. */
function denyInsecureTransport(bucketParam: string): CfnValue {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn(bucketParam), objectsArn(bucketParam)],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
}

/** bucket is an AWS::S3::Bucket with strata's protections; `extra` adds properties (replication). */
function bucket(condition: string, nameParam: string, rules: CfnLifecycleRule[], extra: Record<string, CfnValue>): CfnResource {
  return {
    Type: 'AWS::S3::Bucket',
    Condition: condition,
    // The backups outlive the stack: deleting the stack leaves the bucket and its sets.
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      BucketName: ref(nameParam),
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LifecycleConfiguration: { Rules: rules as unknown as CfnValue },
      ...extra,
      Tags: [{ Key: 'strata', Value: ref('Role') }],
    },
  };
}

/**
 * backupStatements are what backup, list, verify, restore and promote do: list, read, write, tag,
 * multipart; no delete. With retention.deleteBy: tag every removal strata makes (expired sets, run
 * markers, replaced recovery files) is a tag `expire=yes` the lifecycle rule acts on; with
 * deleteBy: strata the prune policy adds DeleteObject.
 */
function backupStatements(prefix: string): CfnValue[] {
  return [
    {
      Sid: 'ListTheBucket',
      Effect: 'Allow',
      // GetLifecycleConfiguration: strata may check the rules it relies on (never change them:
      // credentials that could would also set "expire everything tomorrow").
      Action: ['s3:ListBucket', 's3:ListBucketMultipartUploads', 's3:GetBucketLocation', 's3:GetLifecycleConfiguration'],
      Resource: bucketArn('PrimaryBucketName'),
    },
    {
      Sid: 'ReadWriteTagObjects',
      Effect: 'Allow',
      // PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload; RestoreObject
      // asks S3 to bring archived (GLACIER, DEEP_ARCHIVE) volumes back for a restore.
      Action: ['s3:GetObject', 's3:PutObject', 's3:GetObjectTagging', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:RestoreObject'],
      Resource: objectsArn('PrimaryBucketName', `${prefix}*`),
    },
  ];
}

const usersIfCreated = (): Intrinsic => fnIf('CreateUser', [ref('BackupUser')], NO_VALUE);

function iamResources(prefix: string): Record<string, CfnResource> {
  return {
    BackupPolicy: {
      Type: 'AWS::IAM::ManagedPolicy',
      Condition: 'IsPrimary',
      Properties: {
        ManagedPolicyName: sub('strata-backup-${PrimaryBucketName}'),
        Description: 'strata backup: list, read, write, tag and multipart uploads on the primary bucket; no deletion',
        PolicyDocument: { Version: '2012-10-17', Statement: backupStatements(prefix) },
        Users: usersIfCreated(),
      },
    },
    PrunePolicy: {
      Type: 'AWS::IAM::ManagedPolicy',
      Condition: 'StrataDeletes',
      Properties: {
        ManagedPolicyName: sub('strata-prune-${PrimaryBucketName}'),
        Description: 'strata prune and run markers (Deletion=strata): delete objects on the primary bucket',
        PolicyDocument: {
          Version: '2012-10-17',
          // DeleteObject on a versioned bucket adds a delete marker; the bytes stay a noncurrent
          // version until NoncurrentDays. No DeleteObjectVersion: these credentials never erase.
          Statement: [{ Sid: 'DeleteExpiredSets', Effect: 'Allow', Action: ['s3:DeleteObject'], Resource: objectsArn('PrimaryBucketName', `${prefix}*`) }],
        },
        Users: usersIfCreated(),
      },
    },
    BackupUser: {
      Type: 'AWS::IAM::User',
      Condition: 'CreateUser',
      Properties: { UserName: ref('UserName'), Tags: [{ Key: 'strata', Value: 'backup' }] },
    },
    ReplicationRole: {
      Type: 'AWS::IAM::Role',
      Condition: 'IsPrimary',
      Properties: {
        Description: 'S3 replicates the primary bucket to the replica bucket with this role',
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 's3.amazonaws.com' },
              Action: 'sts:AssumeRole',
              // Only S3 acting for this account's primary bucket (no confused deputy).
              Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') }, ArnLike: { 'aws:SourceArn': bucketArn('PrimaryBucketName') } },
            },
          ],
        },
        Policies: [
          {
            PolicyName: 'strata-replication',
            PolicyDocument: {
              Version: '2012-10-17',
              Statement: [
                { Sid: 'ReadReplicationConfiguration', Effect: 'Allow', Action: ['s3:GetReplicationConfiguration', 's3:ListBucket'], Resource: bucketArn('PrimaryBucketName') },
                {
                  Sid: 'ReadSourceVersions',
                  Effect: 'Allow',
                  Action: ['s3:GetObjectVersionForReplication', 's3:GetObjectVersionAcl', 's3:GetObjectVersionTagging'],
                  Resource: objectsArn('PrimaryBucketName', `${prefix}*`),
                },
                {
                  Sid: 'WriteReplicas',
                  Effect: 'Allow',
                  Action: ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags'],
                  Resource: objectsArn('ReplicaBucketName', `${prefix}*`),
                },
              ],
            },
          },
        ],
      },
    },
  };
}

function rules(): Record<string, CfnRule> {
  return {
    PrimaryStackInPrimaryRegion: {
      RuleCondition: equals(ref('Role'), 'primary'),
      Assertions: [{ Assert: equals(ref('AWS::Region'), ref('PrimaryRegion')), AssertDescription: 'Deploy the primary stack (Role=primary) in PrimaryRegion' }],
    },
    ReplicaStackInReplicaRegion: {
      RuleCondition: equals(ref('Role'), 'replica'),
      Assertions: [{ Assert: equals(ref('AWS::Region'), ref('ReplicaRegion')), AssertDescription: 'Deploy the replica stack (Role=replica) in ReplicaRegion' }],
    },
    ReplicaElsewhere: {
      Assertions: [
        { Assert: { 'Fn::Not': [equals(ref('PrimaryRegion'), ref('ReplicaRegion'))] }, AssertDescription: 'ReplicaRegion must differ from PrimaryRegion (cross-region replication)' },
        { Assert: { 'Fn::Not': [equals(ref('PrimaryBucketName'), ref('ReplicaBucketName'))] }, AssertDescription: 'The replica bucket needs its own name' },
      ],
    },
  };
}

/** cloudFormationTemplate builds the template from the planner's rules (pure). */
export function cloudFormationTemplate(input: TemplateInput): CfnTemplate {
  const replication: Record<string, CfnValue> = {
    ReplicationConfiguration: {
      Role: getAtt('ReplicationRole', 'Arn'),
      Rules: [
        {
          Id: 'strata-all-sets',
          Status: 'Enabled',
          Priority: 1,
          // Every object: all sets, data and meta, with their tags (tier, type, set, kind, expiry).
          Filter: { Prefix: input.prefix },
          // A set strata prunes on the primary disappears from the replica's listing too (the
          // replica keeps the bytes as a noncurrent version until its NoncurrentDays).
          DeleteMarkerReplication: { Status: 'Enabled' },
          // No StorageClass: a replica keeps its source object's class (strata's storageClass.<tier>).
          Destination: { Bucket: bucketArn('ReplicaBucketName') },
        },
      ],
    },
  };
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description:
      'strata backup buckets: deploy with Role=replica in ReplicaRegion first, then Role=primary in PrimaryRegion (versioned, encrypted, TLS-only buckets; lifecycle rules by tag; cross-region replication; least-privilege IAM)',
    Metadata: { 'strata:version': input.version, 'strata:expireTag': `${input.expireTag.Key}=${input.expireTag.Value}`, 'strata:notes': input.notes },
    Parameters: parameters(input),
    Rules: rules(),
    Conditions: {
      IsPrimary: equals(ref('Role'), 'primary'),
      IsReplica: equals(ref('Role'), 'replica'),
      CreateUser: { 'Fn::And': [{ Condition: 'IsPrimary' }, equals(ref('CreateUser'), 'true')] },
      StrataDeletes: { 'Fn::And': [{ Condition: 'IsPrimary' }, equals(ref('Deletion'), 'strata')] },
    },
    Resources: {
      PrimaryBucket: bucket('IsPrimary', 'PrimaryBucketName', input.primaryRules, replication),
      PrimaryBucketPolicy: { Type: 'AWS::S3::BucketPolicy', Condition: 'IsPrimary', Properties: { Bucket: ref('PrimaryBucket'), PolicyDocument: denyInsecureTransport('PrimaryBucketName') } },
      ReplicaBucket: bucket('IsReplica', 'ReplicaBucketName', input.replicaRules, {}),
      ReplicaBucketPolicy: { Type: 'AWS::S3::BucketPolicy', Condition: 'IsReplica', Properties: { Bucket: ref('ReplicaBucket'), PolicyDocument: denyInsecureTransport('ReplicaBucketName') } },
      ...iamResources(input.prefix),
    },
    Outputs: {
      PrimaryBucketArn: { Description: 'The primary bucket (strata destination: s3://<PrimaryBucketName>)', Condition: 'IsPrimary', Value: getAtt('PrimaryBucket', 'Arn') },
      ReplicaBucketArn: { Description: 'The replica bucket', Condition: 'IsReplica', Value: getAtt('ReplicaBucket', 'Arn') },
      BackupPolicyArn: { Description: "The backup credentials' managed policy", Condition: 'IsPrimary', Value: ref('BackupPolicy') },
      PrunePolicyArn: { Description: 'The prune policy (Deletion=strata)', Condition: 'StrataDeletes', Value: ref('PrunePolicy') },
      ReplicationRoleArn: { Description: 'The role S3 replicates with', Condition: 'IsPrimary', Value: getAtt('ReplicationRole', 'Arn') },
      BackupUserName: { Description: 'The IAM user (make its access key with aws iam create-access-key)', Condition: 'CreateUser', Value: ref('BackupUser') },
    },
  };
}

/** templateYaml serialises a template as YAML (long form intrinsics: plain YAML, no custom tags). */
export function templateYaml(t: CfnTemplate): string {
  return stringify(t, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
}
