/**
 * commands/plan: `strata plan` shows how a set of a given size would be protected with PAR2 —
 * strategy, groups or windows, redundancy — and what it is guaranteed to survive, without
 * touching any file. It is the way to try a protection policy before a backup uses it: when a
 * config file is found (--config, $STRATA_CONFIG, ./strata.yaml) its `protection:` policy and the
 * tier's archive.volumeSize are used, else strata's defaults. The volume size is chosen as a
 * backup chooses it (core/protection/volume-size), with the configured one (or --volume-size) as the
 * maximum; --size is the raw size, the worst case where nothing compresses.
 */
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { parseCommandArgs } from './args.js';
import { findConfig, loadConfig } from '../config/load.js';
import { DEFAULTS } from '../config/schema.js';
import { chooseVolumeSize, defaultProtectionConfig, formatPlan, planProtection } from '../core/protection/index.js';
import { TIERS } from '../core/naming.js';
import { formatSize, parseSize } from '../core/size.js';
import { ExitCode, StrataError } from '../errors.js';

const MAX_VOLUMES = 100_000;

/** splitIntoVolumes gives the sizes 7-Zip's -v<volume> makes of `total` bytes: full volumes, then the rest. */
export function splitIntoVolumes(total: number, volume: number): number[] {
  const full = Math.floor(total / volume);
  const sizes: number[] = new Array<number>(full).fill(volume);
  if (total % volume !== 0) sizes.push(total % volume);
  return sizes;
}

const planOptions = {
  size: { type: 'string', value: 'SIZE', help: 'the size of the set, e.g. 5GiB (required)' },
  tier: { type: 'string', short: 't', value: 'TIER', help: 'daily, weekly, monthly or yearly (required)' },
  'volume-size': { type: 'string', value: 'SIZE', help: 'the largest volume size (default: the config\'s, else 50MiB daily, 100MiB otherwise); smaller sets get smaller volumes' },
  set: { type: 'string', value: 'NAME', help: 'the set name to show in PAR2 file names (default SET)' },
} as const satisfies OptionSpecs;

/** planCommand is `strata plan --size SIZE --tier TIER [--volume-size SIZE] [--set NAME]`. */
export const planCommand: Command = {
  name: 'plan',
  summary: 'Show how a set of a given size would be protected with PAR2, and what it survives',
  usage: 'plan --size SIZE --tier daily|weekly|monthly|yearly [--volume-size SIZE] [--set NAME]   (sizes like 5GiB, 100MiB, 123456)',
  options: planOptions,
  examples: ['strata plan --size 5GiB -t monthly', 'strata plan --size 250MiB -t weekly --volume-size 20MiB'],
  async run(ctx: CommandContext, args: string[]): Promise<number> {
    const { values } = parseCommandArgs('plan', args, planOptions);
    if (values.size === undefined) throw new StrataError('USAGE', 'plan: --size is required', { hint: 'Example: strata plan --size 5GiB --tier weekly' });
    const tier = TIERS.find((t) => t === values.tier);
    if (tier === undefined) {
      throw new StrataError('USAGE', `plan: --tier must be one of ${TIERS.join(', ')}${values.tier === undefined ? '' : ` (got ${JSON.stringify(values.tier)})`}`, {
        hint: 'Example: strata plan --size 5GiB --tier weekly',
      });
    }
    const total = parseSize(values.size);
    const configFile = await findConfig(ctx.global.config, ctx.env);
    const config = configFile === undefined ? undefined : await loadConfig(configFile, ctx.env);
    const volume = values['volume-size'] !== undefined ? parseSize(values['volume-size']) : (config?.archive[tier].volumeSize ?? DEFAULTS.volumeSize[tier]);
    if (total <= 0) throw new StrataError('USAGE', 'plan: --size must be more than 0 bytes', { hint: 'Example: --size 5GiB' });
    if (volume <= 0) throw new StrataError('USAGE', 'plan: --volume-size must be more than 0 bytes', { hint: 'Example: --volume-size 100MiB' });
    if (Math.ceil(total / volume) > MAX_VOLUMES) {
      throw new StrataError('USAGE', `plan: that makes more than ${MAX_VOLUMES} volumes`, { hint: 'Use a larger --volume-size.' });
    }
    const protection = config?.protection ?? defaultProtectionConfig;
    const chosen = chooseVolumeSize(tier, total, volume, protection);
    const plan = planProtection({ setId: values.set ?? 'SET', tier, volumeSizes: splitIntoVolumes(total, chosen.volumeSize) }, protection);
    ctx.out.info(configFile === undefined ? 'protection policy: strata\'s defaults (no config file)' : `protection policy: ${configFile}`);
    ctx.out.result(`volume size: ${formatSize(chosen.volumeSize)} (${chosen.reason})`);
    ctx.out.result(formatPlan(plan));
    ctx.out.data({ ...plan, volumeSize: chosen.volumeSize, volumeSizeReason: chosen.reason });
    return ExitCode.ok;
  },
};
