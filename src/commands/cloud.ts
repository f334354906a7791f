/**
 * commands/cloud: `strata cloud lifecycle [--apply] [--json]` — the S3 lifecycle rules of the
 * destination bucket, planned from the job's retention (core/cloud/lifecycle-rules), printed with
 * why and what each costs, and with --apply set on the bucket (PutBucketLifecycleConfiguration);
 * `strata cloud template [--out FILE]` — the AWS CloudFormation template of the whole setup
 * (commands/cloud-template).
 */
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { parseCommandArgs } from './args.js';
import { loadJob } from './common.js';
import { parseDestination } from '../core/destination.js';
import { configurationOf, formatLifecycle, planLifecycle, validateLifecycle, type LifecycleInput, type Step } from '../core/cloud/lifecycle-rules.js';
import type { Tier } from '../core/naming.js';
import { ExitCode, StrataError } from '../errors.js';
import { setBucketLifecycle } from '../backend/open.js';
import { cloudTemplate, templateOptions } from './cloud-template.js';

const lifecycleOptions = {
  apply: { type: 'boolean', default: false, help: 'set the rules on the destination bucket (replaces its lifecycle configuration)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file (default retention)' },
  ...templateOptions,
} as const satisfies OptionSpecs;

const SUBCOMMANDS = ['lifecycle', 'template'] as const;

/** cloudCommand is `strata cloud lifecycle`. */
export const cloudCommand: Command = {
  name: 'cloud',
  summary: 'Provider-side setup of an S3 destination: lifecycle rules by tag (cloud lifecycle), an AWS CloudFormation template (cloud template)',
  usage: 'cloud lifecycle [--apply] [--dest DEST] [--json] | cloud template [--out FILE]',
  options: lifecycleOptions,
  examples: ['strata cloud lifecycle', 'strata cloud lifecycle --apply', 'strata cloud template --out strata.yaml'],
  async run(ctx: CommandContext, args: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs('cloud', args, lifecycleOptions, true);
    const [sub, ...extra] = positionals;
    if (sub === 'template' && extra.length === 0) {
      if (values.apply || values.dest !== undefined) throw new StrataError('USAGE', 'cloud template: --apply and --dest belong to cloud lifecycle', { hint: 'Example: strata cloud template --out strata.yaml' });
      return cloudTemplate(ctx, values.out);
    }
    if (values.out !== undefined) throw new StrataError('USAGE', 'cloud: --out belongs to cloud template', { hint: 'Example: strata cloud template --out strata.yaml' });
    if (sub !== 'lifecycle' || extra.length > 0) {
      throw new StrataError('USAGE', sub === undefined ? 'cloud: say what to do' : `cloud: unknown subcommand ${JSON.stringify(positionals.join(' '))}`, {
        hint: `Run "strata cloud ${SUBCOMMANDS.join('|')} --help"; e.g. "strata cloud lifecycle".`,
      });
    }
    return lifecycle(ctx, values.apply, values.dest);
  },
};

/** testSteps reads STRATA_TEST_LIFECYCLE_STEPS (tests only: a lifecycle day lasts seconds on the test server). */
function testSteps(env: NodeJS.ProcessEnv): LifecycleInput['steps'] {
  const raw = env['STRATA_TEST_LIFECYCLE_STEPS'];
  if (raw === undefined || raw === '') return undefined;
  return JSON.parse(raw) as Partial<Record<Tier, Step[]>>;
}

async function lifecycle(ctx: CommandContext, apply: boolean, dest: string | undefined): Promise<number> {
  const config = await loadJob(ctx, { dest }, false);
  const destination = parseDestination(config.destination);
  if (destination.kind !== 's3') {
    throw new StrataError('USAGE', `cloud lifecycle: the destination is ${destination.kind}, not S3: lifecycle rules are set on an S3 bucket`, {
      hint: 'On other destinations "strata prune --apply" applies the retention itself (run it after each backup, or set retention.pruneAfterBackup).',
    });
  }
  const input: LifecycleInput = { retention: config.retention.tiers, prefix: destination.prefix === '' ? '' : `${destination.prefix}/`, deleteByTag: config.retention.deleteBy === 'tag' };
  const steps = testSteps(ctx.env);
  if (steps !== undefined) input.steps = steps;
  const plan = planLifecycle(input);
  const rules = configurationOf(plan);
  // The production rules must keep AWS's constraints; a test override (short days) is for a test server.
  const problems = steps === undefined ? validateLifecycle(rules) : [];
  if (problems.length > 0) {
    throw new StrataError('INTERNAL', `the planned lifecycle rules break S3's constraints: ${problems.map((p) => `${p.rule}: ${p.message}`).join('; ')}`);
  }
  if (apply) {
    await setBucketLifecycle(destination, rules, { env: ctx.env, onWarning: (w) => ctx.out.warn(w) });
  }
  for (const line of formatLifecycle(plan)) ctx.out.result(line);
  ctx.out.result(apply ? `set ${rules.Rules.length} lifecycle rules on bucket ${destination.bucket} (they replace any it had)` : `not applied: run "strata cloud lifecycle --apply" to set these ${rules.Rules.length} rules on bucket ${destination.bucket}`);
  if (config.retention.deleteBy !== 'tag') ctx.out.result('strata deletes expired sets itself (retention.deleteBy: strata); with deleteBy: tag, prune tags them and the rule "strata-expire-by-tag" deletes them');
  ctx.out.data({ bucket: destination.bucket, prefix: input.prefix, applied: apply, deleteBy: config.retention.deleteBy ?? 'strata', rules: plan.rules, corrections: plan.corrections, lifecycleConfiguration: rules });
  return ExitCode.ok;
}
