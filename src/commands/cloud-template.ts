/**
 * commands/cloud-template: `strata cloud template [--out FILE]` writes the AWS CloudFormation
 * template of strata's S3 setup (core/cloud/cfn-template): the primary and replica buckets, their
 * lifecycle rules (planned from the job's retention when a config file is found, else strata's
 * defaults), cross-region replication and the backup credentials' IAM policies. Without --out the
 * YAML goes to stdout; the deploy lines follow on stderr.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { CommandContext, OptionSpecs } from './context.js';
import { findConfig, loadConfig } from '../config/load.js';
import { parseDestination } from '../core/destination.js';
import { cloudFormationTemplate, templateYaml } from '../core/cloud/cfn-template.js';
import { templateInput, type TemplateOptions } from '../core/cloud/cfn-input.js';
import { ExitCode, StrataError, errorMessage } from '../errors.js';
import { strataVersion } from '../version.js';

/** templateOptions are the options of `strata cloud template`. */
export const templateOptions = {
  out: { type: 'string', short: 'o', value: 'FILE', help: 'write the template to FILE (default: stdout)' },
} as const satisfies OptionSpecs;

/** deployLines are the commands that deploy the template: the replica stack first, then the primary. */
export function deployLines(file: string): string[] {
  return [
    `aws cloudformation deploy --region REPLICA_REGION --stack-name strata-replica --template-file ${file} \\`,
    '    --parameter-overrides Role=replica PrimaryBucketName=PRIMARY_BUCKET ReplicaBucketName=REPLICA_BUCKET PrimaryRegion=PRIMARY_REGION ReplicaRegion=REPLICA_REGION',
    `aws cloudformation deploy --region PRIMARY_REGION --stack-name strata-primary --template-file ${file} --capabilities CAPABILITY_NAMED_IAM \\`,
    '    --parameter-overrides Role=primary PrimaryBucketName=PRIMARY_BUCKET ReplicaBucketName=REPLICA_BUCKET PrimaryRegion=PRIMARY_REGION ReplicaRegion=REPLICA_REGION',
  ];
}

/** templateFrom reads the job's retention and destination prefix from the config file, when there is one. */
async function templateFrom(ctx: CommandContext): Promise<{ options: TemplateOptions; source: string }> {
  const options: TemplateOptions = { version: await strataVersion() };
  const file = await findConfig(ctx.global.config, ctx.env);
  if (file === undefined) return { options, source: "strata's default retention (no config file)" };
  const config = await loadConfig(file, ctx.env);
  options.retention = config.retention.tiers;
  options.deleteByTag = config.retention.deleteBy === 'tag';
  const d = parseDestination(config.destination);
  if (d.kind === 's3' && d.prefix !== '') options.prefix = `${d.prefix}/`;
  return { options, source: `the retention of ${file}` };
}

/**
 * refuseToReplace stops --out from overwriting a file that is not a CloudFormation template made
 * before: `--out strata.yaml` in a job's folder would otherwise replace the job's config.
 */
async function refuseToReplace(target: string, shown: string): Promise<void> {
  let head: string;
  try {
    const fh = await fsp.open(target, 'r');
    try {
      const buf = Buffer.alloc(256);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StrataError('USAGE', `cloud template: cannot use ${shown}: ${errorMessage(e)}`, { hint: 'Give --out a new file name, e.g. --out strata-cloudformation.yaml' });
  }
  if (!/^AWSTemplateFormatVersion:/.test(head)) {
    throw new StrataError('USAGE', `cloud template: ${shown} exists and is no CloudFormation template: not replaced`, {
      hint: 'strata reads ./strata.yaml as its config; write the template elsewhere, e.g. --out strata-cloudformation.yaml',
    });
  }
}

/** cloudTemplate runs `strata cloud template`. */
export async function cloudTemplate(ctx: CommandContext, out: string | undefined): Promise<number> {
  const { options, source } = await templateFrom(ctx);
  const yaml = templateYaml(cloudFormationTemplate(templateInput(options)));
  if (out === undefined) {
    if (ctx.out.json) ctx.out.data({ yaml, prefix: options.prefix ?? '' });
    else process.stdout.write(yaml);
    ctx.out.info(`lifecycle rules from ${source}; deploy the replica stack first, then the primary:`);
    for (const l of deployLines('FILE')) ctx.out.info(l);
    return ExitCode.ok;
  }
  const target = path.resolve(out);
  await refuseToReplace(target, out);
  const tmp = `${target}.${process.pid}.tmp`;
  try {
    await fsp.writeFile(tmp, yaml, { mode: 0o644 });
    await fsp.rename(tmp, target);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw new StrataError('USAGE', `cloud template: cannot write ${out}: ${errorMessage(e)}`, { hint: 'Give --out a file in a folder you can write to.' });
  }
  ctx.out.data({ file: target, bytes: Buffer.byteLength(yaml), prefix: options.prefix ?? '' });
  ctx.out.result(`wrote ${out} (lifecycle rules from ${source})`);
  ctx.out.result('deploy the replica stack first (replication needs its bucket), then the primary:');
  for (const l of deployLines(out)) ctx.out.result(`  ${l}`);
  return ExitCode.ok;
}
