/** commands/verify: `strata verify [--set ID | --all] [--repair] [--no-password] [--remote | --read-data[=PERCENT]]`. */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { formatSeconds } from '../core/progress.js';
import { parseRetrievalTier, type RetrievalTier } from '../core/cold.js';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { ExitCode, StrataError, isStrataError } from '../errors.js';
import { chainGaps, describeGap, newestOfEachSource, withDependencies } from '../core/catalog.js';
import { runVerify } from '../pipeline/verify.js';
import { RESTORE_TEXT } from '../core/keys.js';
import { parseReadPercent, runRemoteVerify } from '../pipeline/remote-verify.js';
import { resolvePassword } from '../config/password.js';
import type { StrataConfig } from '../config/schema.js';
import type { Descriptor } from '../core/descriptor.js';
import { Repository, type Catalog, type CatalogProblem } from '../repository/repository.js';
import { verifyDetails } from '../ops/details.js';
import { PhaseMeter } from '../ui/meter.js';
import { findTools, getPassword, jobOfConfigFile, loadJob, openDestination, privateStateFolder, workDirFor, configFrom } from './common.js';

const verifyOptions = {
  remote: { type: 'boolean', default: false, help: 'check sizes and SHA-256 as the provider reports them, without downloading' },
  'read-data': { type: 'string', value: 'PERCENT', help: 'download and check this share of the objects (--read-data alone: 100)' },
  seed: { type: 'string', value: 'TEXT', help: 'which objects --read-data picks (default: random)' },
  set: { type: 'string', value: 'ID', help: 'verify this set (and the sets it needs)' },
  all: { type: 'boolean', default: false, help: 'verify every set (default: the newest of each source)' },
  repair: { type: 'boolean', default: false, help: 'repair damaged or missing volumes and recovery files with PAR2, in place' },
  'no-password': { type: 'boolean', default: false, help: 'check and repair without the password (no HMAC or 7-Zip test)' },
  'retrieval-tier': { type: 'string', value: 'TIER', help: 'objects in S3 GLACIER/DEEP_ARCHIVE: restore them at Expedited, Standard or Bulk (default: the destination\'s retrievalTier, else Standard)' },
  from: { type: 'string', value: 'NAME', help: 'read destination NAME of the config\'s destinations: (default: the primary)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
} as const satisfies OptionSpecs;

/** verifyCommand checks (and with --repair, repairs) sets on the destination. */
export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check sets: descriptor HMAC, hashes, PAR2, 7-Zip integrity; --repair rebuilds damaged volumes',
  usage: 'verify [--set ID | --all] [--repair] [--no-password] [--remote | --read-data[=PERCENT] [--seed S]] [--retrieval-tier TIER] [--from NAME] [--dest DEST]',
  options: verifyOptions,
  examples: ['strata verify', 'strata verify --all --repair', 'strata verify --remote --read-data=5'],
  async run(ctx, args) {
    const started = performance.now();
    // Times the phases from here: `prepare` includes reading the configuration and the catalog.
    const meter = new PhaseMeter(ctx.out);
    // A bare --read-data means all of it; parseArgs needs the value spelt out.
    const { values } = parseCommandArgs('verify', args.map((a) => (a === '--read-data' ? '--read-data=100' : a)), verifyOptions);
    const retrievalTier = values['retrieval-tier'] === undefined ? undefined : parseRetrievalTier(values['retrieval-tier'], '--retrieval-tier');
    const config = configFrom(await loadJob(ctx, { dest: values.dest }, false), values.from);
    const backend = await openDestination(ctx, config);
    try {
      const repo = new Repository(backend);
      const catalog = await repo.catalog();
      let sets = catalog.complete;
      if (values.set !== undefined) {
        sets = sets.filter((d) => d.id === values.set);
        // A set whose descriptor is not valid is reported below (TAMPERED or DAMAGED), not "not found".
        if (sets.length === 0 && !catalog.problems.some((p) => p.id === values.set)) throw new StrataError('NOT_FOUND', `no complete set ${values.set}`, { hint: 'strata list shows the sets.' });
      } else {
        // A config file names its job: only its sets. Without one, every job's sets on the destination.
        const job = jobOfConfigFile(config);
        if (job !== undefined) sets = sets.filter((d) => d.job === job);
        if (!values.all) sets = newestOfEachSource(sets);
      }
      if (sets.length === 0 && catalog.problems.length === 0) throw new StrataError('NO_REPOSITORY', 'the destination holds no complete set', { hint: 'Check --dest; run a backup first.' });
      // A restore of a set needs every set it depends on: those are verified too.
      const chosen = sets;
      sets = withDependencies(chosen, catalog.complete);
      if (values.remote || values['read-data'] !== undefined) {
        if (values.repair) throw new StrataError('USAGE', '--repair cannot be combined with --remote or --read-data', { hint: 'Run strata verify --repair (it downloads the sets it repairs).' });
        return await verifyRemote(ctx, config, repo, { sets, chosen, catalog }, { noPassword: values['no-password'], readData: values['read-data'], seed: values.seed, retrievalTier }, started, meter);
      }
      const tools = await findTools(ctx);
      const password = values['no-password'] ? null : await getPassword(ctx, config, false);
      const workDir = workDirFor(ctx, config);
      await privateStateFolder(ctx);
      await fsp.mkdir(workDir, { recursive: true });
      meter.end('prepare');
      const verdicts = await runVerify({ repo, tools, password, sets, repair: values.repair, workDir, out: ctx.out, signal: ctx.signal, others: catalog.complete, retrievalTier, meter });
      const neededBy = applyChain(verdicts, chosen, catalog, (v) => v.status === 'damaged' && v.lost.length === 1 && v.lost[0] === RESTORE_TEXT && v.archiveTest !== 'failed' && Object.values(v.objects).every((o) => o === 'ok'));
      for (const v of verdicts) {
        const say = (line: string): void => (v.status === 'ok' ? ctx.out.summary(line) : ctx.out.result(line));
        say(`${v.id}: ${v.status.toUpperCase()}  (objects ${Object.values(v.objects).filter((s) => s === 'ok').length}/${Object.keys(v.objects).length} intact, PAR2 ${v.par2}, 7-Zip test ${v.archiveTest})`);
        const by = neededBy.get(v.id);
        if (by !== undefined) say(`  needed to restore ${by.join(', ')}`);
        if (v.repaired.length > 0) ctx.out.result(`  repaired: ${v.repaired.join(', ')}`);
        for (const l of v.lost) ctx.out.result(`  damaged or missing: ${l}${values.repair ? ' (beyond repair)' : ''}`);
        for (const m of v.messages) say(`  ${m}`);
      }
      // A set whose descriptor cannot be read cannot be restored: that is damage, not a remark.
      for (const p of catalog.problems) ctx.out.result(problemLine(p));
      ctx.run?.attach(verifyDetails(verdicts, catalog.problems.length));
      const failed = verdicts.filter((v) => v.status !== 'ok' && v.status !== 'repaired');
      const code = failed.some((v) => v.status === 'wrong-password') ? ExitCode.wrongPassword : failed.length > 0 || catalog.problems.length > 0 ? ExitCode.damaged : ExitCode.ok;
      const seconds = Math.round(performance.now() - started) / 1000;
      ctx.out.summary(`verify finished in ${formatSeconds(seconds)}`);
      ctx.out.data({ sets: verdicts, unreadable: catalog.problems, phases: meter.phases, seconds, exitCode: code });
      // Only for damage --repair can act on (objects, RESTORE.txt), not for a set whose base is gone.
      if (failed.length > 0 && !values.repair && failed.every((v) => v.status === 'damaged') && failed.some((v) => v.lost.length > 0)) ctx.out.info('hint: strata verify --repair rebuilds damaged volumes from PAR2');
      return code;
    } finally {
      await backend.close();
    }
  },
};

/** problemLine reports a set whose descriptor cannot be read (DAMAGED) or is not valid (TAMPERED): it cannot be restored. */
function problemLine(p: CatalogProblem): string {
  return p.tampered === true ? `${p.id}: TAMPERED  (its descriptor is not valid: ${p.message})` : `${p.id}: DAMAGED  (its descriptor cannot be read: ${p.message})`;
}

/**
 * applyChain marks each chosen set that cannot be restored because a set it depends on is missing,
 * unreadable or not intact (per the verdicts) as damaged, naming that set; returns, per set verified
 * only because others need it, the sets that need it.
 */
function applyChain<V extends { id: string; status: string; messages: string[] }>(verdicts: V[], chosen: readonly Descriptor[], catalog: Catalog, onlyRestoreText: (v: V) => boolean): Map<string, string[]> {
  // A base whose only fault is its RESTORE.txt still serves a restore: not a gap in the chain.
  const statusOf = new Map(verdicts.map((v) => [v.id, onlyRestoreText(v) ? 'ok' : v.status]));
  const chosenIds = new Set(chosen.map((d) => d.id));
  const neededBy = new Map<string, string[]>();
  for (const d of chosen) {
    for (const dep of d.depends) {
      if (dep === d.id || chosenIds.has(dep) || !statusOf.has(dep)) continue;
      neededBy.set(dep, [...(neededBy.get(dep) ?? []), d.id]);
    }
    const gaps = chainGaps(d, catalog.complete, catalog.problems, statusOf);
    const v = verdicts.find((x) => x.id === d.id);
    if (gaps.length === 0 || v === undefined) continue;
    if (v.status !== 'wrong-password' && v.status !== 'tampered') v.status = 'damaged';
    v.messages.push(`cannot be restored: it needs ${gaps.map(describeGap).join('; and ')}`);
  }
  return neededBy;
}

/** verifyRemote runs `verify --remote` / `--read-data`: checks on the destination, no local copy. */
async function verifyRemote(ctx: CommandContext, config: StrataConfig, repo: Repository, which: { sets: Descriptor[]; chosen: Descriptor[]; catalog: Catalog }, opts: { noPassword: boolean; readData: string | undefined; seed: string | undefined; retrievalTier: RetrievalTier | undefined }, started: number, meter: PhaseMeter): Promise<number> {
  const { sets, chosen, catalog } = which;
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
  meter.end('prepare');
  const verdicts = await runRemoteVerify({ repo, sets, password, readPercent, seed, out: ctx.out, signal: ctx.signal, others: catalog.complete, retrievalTier: opts.retrievalTier, meter });
  const neededBy = applyChain(verdicts, chosen, catalog, (v) => v.status === 'damaged' && v.problems.every((p) => p.name === RESTORE_TEXT));
  for (const v of verdicts) {
    const read = readPercent === undefined ? '' : `, ${v.readOk}/${v.sampled} read and hashed`;
    const say = (line: string): void => (v.status === 'ok' ? ctx.out.summary(line) : ctx.out.result(line));
    say(`${v.id}: ${v.status.toUpperCase()}  (remote: ${v.sizeOk}/${v.objects} sizes ok, ${v.providerHashOk} SHA-256 from the provider${read}, descriptor HMAC ${v.descriptor})`);
    const by = neededBy.get(v.id);
    if (by !== undefined) say(`  needed to restore ${by.join(', ')}`);
    for (const p of v.problems) ctx.out.result(`  ${p.state}: ${p.name} (${p.detail})`);
    for (const m of v.messages) say(`  ${m}`);
  }
  for (const p of catalog.problems) ctx.out.result(problemLine(p));
  ctx.run?.attach(verifyDetails(verdicts, catalog.problems.length));
  const failed = verdicts.filter((v) => v.status !== 'ok');
  const code = failed.some((v) => v.status === 'wrong-password') ? ExitCode.wrongPassword : failed.length > 0 || catalog.problems.length > 0 ? ExitCode.damaged : ExitCode.ok;
  const seconds = Math.round(performance.now() - started) / 1000;
  ctx.out.summary(`verify finished in ${formatSeconds(seconds)}`);
  ctx.out.data({ unreadable: catalog.problems, mode: readPercent === undefined ? 'remote' : 'read-data', readPercent: readPercent ?? null, seed: readPercent !== undefined && readPercent < 100 ? seed : null, sets: verdicts, phases: meter.phases, seconds, exitCode: code });
  if (failed.some((v) => v.status === 'damaged' && v.problems.length > 0)) ctx.out.info('hint: strata verify --repair rebuilds damaged or missing objects from PAR2 and uploads them again');
  return code;
}
