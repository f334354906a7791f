/** commands/verify: `strata verify [--set ID | --all] [--repair] [--no-password] [--remote | --read-data[=PERCENT]]`. */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { parseCommandArgs } from '../cli/args.js';
import type { Command, CommandContext } from '../cli/context.js';
import { ExitCode, StrataError, isStrataError } from '../errors.js';
import { newestOfEachSource } from '../core/catalog.js';
import { runVerify } from '../pipeline/verify.js';
import { parseReadPercent, runRemoteVerify } from '../pipeline/remote-verify.js';
import { resolvePassword } from '../config/password.js';
import type { StrataConfig } from '../config/schema.js';
import type { Descriptor } from '../core/descriptor.js';
import { Repository } from '../repository/repository.js';
import { findTools, getPassword, jobOfConfigFile, loadJob, openDestination, privateStateFolder, workDirFor } from './common.js';

/** verifyCommand checks (and with --repair, repairs) sets on the destination. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check sets: descriptor HMAC, hashes, PAR2, 7-Zip integrity; --repair rebuilds damaged volumes',
  usage: 'verify [--set ID | --all] [--repair] [--no-password] [--remote | --read-data[=PERCENT] [--seed S]] [--dest DEST]',
  async run(ctx, args) {
    // A bare --read-data means all of it; parseArgs needs the value spelt out.
    const { values } = parseCommandArgs('verify', args.map((a) => (a === '--read-data' ? '--read-data=100' : a)), {
      remote: { type: 'boolean', default: false },
      'read-data': { type: 'string' },
      seed: { type: 'string' },
      set: { type: 'string' },
      all: { type: 'boolean', default: false },
      repair: { type: 'boolean', default: false },
      'no-password': { type: 'boolean', default: false },
      dest: { type: 'string' },
    });
    const config = await loadJob(ctx, { dest: values.dest }, false);
    const backend = await openDestination(ctx, config);
    try {
      const repo = new Repository(backend);
      const catalog = await repo.catalog();
      let sets = catalog.complete;
      if (values.set !== undefined) {
        sets = sets.filter((d) => d.id === values.set);
        if (sets.length === 0) throw new StrataError('NOT_FOUND', `no complete set ${values.set}`, { hint: 'strata list shows the sets.' });
      } else {
        // A config file names its job: only its sets. Without one, every job's sets on the destination.
        const job = jobOfConfigFile(config);
        if (job !== undefined) sets = sets.filter((d) => d.job === job);
        if (!values.all) sets = newestOfEachSource(sets);
      }
      if (sets.length === 0) throw new StrataError('NO_REPOSITORY', 'the destination holds no complete set', { hint: 'Check --dest; run a backup first.' });
      if (values.remote || values['read-data'] !== undefined) {
        if (values.repair) throw new StrataError('USAGE', '--repair cannot be combined with --remote or --read-data', { hint: 'Run strata verify --repair (it downloads the sets it repairs).' });
        return await verifyRemote(ctx, config, repo, sets, { noPassword: values['no-password'], readData: values['read-data'], seed: values.seed });
      }
      const tools = await findTools(ctx);
      const password = values['no-password'] ? null : await getPassword(ctx, config, false);
      const workDir = workDirFor(ctx, config);
      await privateStateFolder(ctx);
      await fsp.mkdir(workDir, { recursive: true });
      const verdicts = await runVerify({ repo, tools, password, sets, repair: values.repair, workDir, out: ctx.out, signal: ctx.signal });
      for (const v of verdicts) {
        ctx.out.result(`${v.id}: ${v.status.toUpperCase()}  (objects ${Object.values(v.objects).filter((s) => s === 'ok').length}/${Object.keys(v.objects).length} intact, PAR2 ${v.par2}, 7-Zip test ${v.archiveTest})`);
        if (v.repaired.length > 0) ctx.out.result(`  repaired: ${v.repaired.join(', ')}`);
        for (const l of v.lost) ctx.out.result(`  damaged or missing: ${l}${values.repair ? ' (beyond repair)' : ''}`);
        for (const m of v.messages) ctx.out.result(`  ${m}`);
      }
      // A set whose descriptor cannot be read cannot be restored: that is damage, not a remark.
      for (const p of catalog.problems) ctx.out.result(`${p.id}: DAMAGED  (its descriptor cannot be read: ${p.message})`);
      const failed = verdicts.filter((v) => v.status !== 'ok' && v.status !== 'repaired');
      const code = failed.some((v) => v.status === 'wrong-password') ? ExitCode.wrongPassword : failed.length > 0 || catalog.problems.length > 0 ? ExitCode.damaged : ExitCode.ok;
      ctx.out.data({ sets: verdicts, unreadable: catalog.problems, exitCode: code });
      if (failed.length > 0 && !values.repair && failed.every((v) => v.status === 'damaged')) ctx.out.info('hint: strata verify --repair rebuilds damaged volumes from PAR2');
      return code;
    } finally {
      await backend.close();
    }
  },
};

/** verifyRemote runs `verify --remote` / `--read-data`: checks on the destination, no local copy. */
async function verifyRemote(ctx: CommandContext, config: StrataConfig, repo: Repository, sets: Descriptor[], opts: { noPassword: boolean; readData: string | undefined; seed: string | undefined }): Promise<number> {
  const readPercent = opts.readData === undefined ? undefined : parseReadPercent(opts.readData);
  const seed = opts.seed ?? randomBytes(6).toString('hex');
  // The password is optional here: used when one is configured, never prompted for.
  let password: string | null = null;
  if (!opts.noPassword) {
    try {
      password = await resolvePassword({ config, env: ctx.env, confirm: false, isTTY: false });
    } catch (e) {
      if (!isStrataError(e, 'NO_PASSWORD')) throw e;
      ctx.out.info('no password given: descriptor HMACs are not checked');
    }
  }
  if (readPercent !== undefined && readPercent < 100) ctx.out.info(`reading a ${readPercent}% sample (seed ${seed}; --seed ${seed} repeats it)`);
  const verdicts = await runRemoteVerify({ repo, sets, password, readPercent, seed, out: ctx.out, signal: ctx.signal });
  for (const v of verdicts) {
    const read = readPercent === undefined ? '' : `, ${v.readOk}/${v.sampled} read and hashed`;
    ctx.out.result(`${v.id}: ${v.status.toUpperCase()}  (remote: ${v.sizeOk}/${v.objects} sizes ok, ${v.providerHashOk} SHA-256 from the provider${read}, descriptor HMAC ${v.descriptor})`);
    for (const p of v.problems) ctx.out.result(`  ${p.state}: ${p.name} (${p.detail})`);
    for (const m of v.messages) ctx.out.result(`  ${m}`);
  }
  const failed = verdicts.filter((v) => v.status !== 'ok');
  const code = failed.some((v) => v.status === 'wrong-password') ? ExitCode.wrongPassword : failed.length > 0 ? ExitCode.damaged : ExitCode.ok;
  ctx.out.data({ mode: readPercent === undefined ? 'remote' : 'read-data', readPercent: readPercent ?? null, seed: readPercent !== undefined && readPercent < 100 ? seed : null, sets: verdicts, exitCode: code });
  if (failed.some((v) => v.status === 'damaged')) ctx.out.info('hint: strata verify --repair rebuilds damaged or missing objects from PAR2 and uploads them again');
  return code;
}
