/**
 * commands/config: `strata config check` validates a config file without running anything: the
 * YAML, every key, the destination (parsed, not contacted) and that each source folder exists.
 * Exit 0 when it is usable, 2 (CONFIG) with every problem and its line when it is not.
 */
import { stat } from 'node:fs/promises';
import type { Command, CommandContext } from './context.js';
import { parseCommandArgs } from './args.js';
import { configFilePath, loadConfig, sourceOrigin } from '../config/load.js';
import { describeDestination, parseDestination } from '../core/destination.js';
import { ExitCode, StrataError, errnoCode } from '../errors.js';

/** configCommand is `strata config check`. */
export const configCommand: Command = {
  name: 'config',
  summary: 'Check a config file without running anything (config check)',
  usage: 'config check   (the file: --config FILE, $STRATA_CONFIG, else ./strata.yaml)',
  async run(ctx: CommandContext, args: string[]): Promise<number> {
    const { positionals } = parseCommandArgs('config', args, {}, true);
    const [sub, ...extra] = positionals;
    if (sub !== 'check' || extra.length > 0) {
      throw new StrataError('USAGE', sub === undefined ? 'config: say what to do' : `config: unknown subcommand ${JSON.stringify(positionals.join(' '))}`, { hint: 'Run "strata config check [--config FILE]".' });
    }
    const file = configFilePath(ctx.global.config, ctx.env, process.cwd());
    const config = await loadConfig(file, ctx.env);
    const destination = parseDestination(config.destination);
    const problems: string[] = [];
    for (const s of config.sources) {
      const where = sourceOrigin(s) ?? file;
      try {
        if (!(await stat(s.path)).isDirectory()) problems.push(`${where}: source ${s.name}: ${s.path} is not a folder`);
      } catch (e) {
        problems.push(`${where}: source ${s.name}: ${s.path} ${errnoCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(e) ?? 'error'})`}`);
      }
    }
    if (problems.length > 0) {
      throw new StrataError('CONFIG', problems.length === 1 ? (problems[0] ?? '') : `${problems.length} problems:\n  ${problems.join('\n  ')}`, {
        hint: 'Fix the paths (a disk not mounted?), then run "strata config check" again.',
      });
    }
    const summary = { file, job: config.job, sources: config.sources.map((s) => ({ name: s.name, path: s.path })), destination: describeDestination(destination) };
    ctx.out.result(`${file}: OK`);
    ctx.out.result(`  job ${config.job}; destination ${summary.destination}`);
    for (const s of config.sources) ctx.out.result(`  source ${s.name}: ${s.path}`);
    ctx.out.data({ ok: true, ...summary });
    return ExitCode.ok;
  },
};
