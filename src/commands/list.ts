/** commands/list: `strata list [--set ID] [--protection] [--json]` — the complete sets on the destination. */
import { parseCommandArgs } from './args.js';
import type { Command, OptionSpecs } from './context.js';
import { ExitCode, StrataError } from '../errors.js';
import { byCreated, chainGaps, chainOf, describeGap, identitiesOf, matchesHost, type ChainGap } from '../core/catalog.js';
import { planOf, recoveryPercent, setBytes, type Descriptor } from '../core/descriptor.js';
import { formatPlan } from '../core/protection/index.js';
import { Repository, type CatalogProblem } from '../repository/repository.js';
import { formatBytes } from '../ui/output.js';
import { describeIdentity } from '../core/restore-choice.js';
import { loadJob, openDestination , configFrom } from './common.js';

/** restorability tells whether the sets a restore of `d` needs are all present and readable. */
function restorability(d: Descriptor, complete: readonly Descriptor[], problems: readonly CatalogProblem[]): { restorable: boolean; chainProblems: ChainGap[] } {
  const gaps = chainGaps(d, complete, problems);
  return { restorable: gaps.length === 0, chainProblems: gaps };
}

const listOptions = {
  from: { type: 'string', value: 'NAME', help: 'read destination NAME of the config\'s destinations: (default: the primary)' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
  source: { type: 'string', value: 'NAME', help: 'only sets of this source' },
  job: { type: 'string', value: 'NAME', help: 'only sets of this job' },
  host: { type: 'string', value: 'HOST', help: 'only sets of this machine (host name or machine id prefix)' },
  set: { type: 'string', value: 'ID', help: 'only this set' },
  protection: { type: 'boolean', help: 'each set\'s PAR2 layout and what it is guaranteed to survive' },
} as const satisfies OptionSpecs;

/** listCommand prints the sets: id, tier, type, size, chain. */
export const listCommand: Command = {
  name: 'list',
  summary: 'list the complete sets on the destination: tier, type, size, chain, protection',
  usage: 'list [--from NAME] [--dest DEST] [--source NAME] [--job NAME] [--host HOST] [--set ID] [--protection] [--json]',
  options: listOptions,
  examples: ['strata list', 'strata list --protection --set 261129_FULL_docs', 'strata --json list --dest s3://bucket/backups'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('list', args, listOptions);
    const config = configFrom(await loadJob(ctx, { dest: values.dest }, false), values.from);
    const backend = await openDestination(ctx, config);
    try {
      const catalog = await new Repository(backend).catalog();
      // Every job and machine on the destination is shown (a fresh machine picks one for restore);
      // --job and --host narrow the list.
      const host = values.host;
      const all = catalog.complete
        .filter((d) => (values.source === undefined || d.source === values.source) && (values.job === undefined || d.job === values.job) && (host === undefined || matchesHost(d.machine, host)))
        .sort(byCreated);
      const sets = values.set === undefined ? all : all.filter((d) => d.id === values.set);
      if (values.set !== undefined && sets.length === 0) {
        throw new StrataError('NOT_FOUND', `no complete set ${values.set} on ${backend.description}`, { hint: 'Run "strata list" to see the sets.' });
      }
      const rows = sets.map((d) => ({
        id: d.id, job: d.job, machine: d.machine ?? null, source: d.source, tier: d.tier, type: d.type, created: d.created, bytes: setBytes(d), volumes: d.volumes.length,
        files: d.stats.files, sourceBytes: d.stats.bytes, recoveryPercent: recoveryPercent(d), base: d.base, chain: chainOf(d, all).map((s) => s.id), depends: d.depends,
        // Whether every set a restore of this one needs is there with a readable descriptor (verify checks their contents).
        ...restorability(d, catalog.complete, catalog.problems),
        protection: d.protection === null ? null : { strategy: d.protection.strategy, redundancyPercent: d.protection.redundancyPercent, units: d.protection.units.length, guarantees: d.protection.guarantees },
        // The layout as made, with what it is guaranteed to survive (computed from the arithmetic).
        plan: values.protection === true ? planOf(d) : undefined,
        // Set when the set was promoted (pipeline/promote): the tier it had and when.
        promotedFrom: d.promotedFrom ?? null, promotedAt: d.promotedAt ?? null,
      }));
      const identities = identitiesOf(all);
      ctx.out.data({ sets: rows, machines: identities.map((i) => ({ job: i.job, machine: i.machine, sources: i.sources, newest: i.newest.id, sets: i.sets })), incomplete: catalog.incomplete.map((i) => i.id), problems: catalog.problems });
      if (rows.length === 0) ctx.out.result('no complete sets');
      else {
        ctx.out.result(`${'SET'.padEnd(34)} ${'JOB'.padEnd(16)} ${'HOST'.padEnd(21)} ${'TIER'.padEnd(8)} ${'TYPE'.padEnd(5)} ${'CREATED'.padEnd(20)} ${'SIZE'.padStart(10)} ${'ENTRIES'.padStart(7)}  PROTECTION  RECOVERY  CHAIN`);
        for (const r of rows) {
          ctx.out.result(
            `${r.id.padEnd(34)} ${r.job.padEnd(16)} ${hostColumn(r.machine).padEnd(21)} ${r.tier.padEnd(8)} ${r.type.padEnd(5)} ${r.created.slice(0, 19).replace('T', ' ').padEnd(20)} ${formatBytes(r.bytes).padStart(10)} ${String(r.files).padStart(7)}  ` +
              `${(r.protection === null ? '-' : `${r.protection.strategy} ${r.protection.redundancyPercent}%`).padEnd(10)}  ${`${r.recoveryPercent}%`.padStart(8)}  ${r.chain.length > 1 ? r.chain.slice(1).join(' <- ') : '-'}` +
              (r.restorable ? '' : `  BROKEN: cannot be restored, needs ${r.chainProblems.map(describeGap).join('; ')}`),
          );
        }
        if (identities.length > 1) {
          ctx.out.result('');
          ctx.out.result(`${identities.length} jobs/machines on this destination (restore reads one: --job NAME, --host HOST or machine id):`);
          for (const i of identities) ctx.out.result(`  ${describeIdentity(i)}`);
        }
        if (values.protection === true) {
          for (const r of rows) {
            ctx.out.result('');
            ctx.out.result(r.plan === null || r.plan === undefined ? `set ${r.id}: no PAR2 protection (no volumes)` : formatPlan(r.plan));
            if (r.promotedFrom !== null) ctx.out.result(`promoted from ${r.promotedFrom} to ${r.tier} at ${(r.promotedAt ?? '').slice(0, 19).replace('T', ' ')} UTC (PAR2 recovery data added for the new tier where its table asks more)`);
          }
        }
      }
      for (const i of catalog.incomplete) ctx.out.info(`incomplete (not counted): ${i.id}`);
      for (const p of catalog.problems) ctx.out.warn(`${p.id}: ${p.tampered === true ? 'TAMPERED, not usable' : 'DAMAGED, not usable'}: ${p.message}`);
      const broken = rows.filter((r) => !r.restorable).length;
      if (broken > 0) ctx.out.warn(`${broken} set${broken === 1 ? '' : 's'} cannot be restored: a set ${broken === 1 ? 'it needs' : 'they need'} is missing or unreadable (strata verify tells more)`);
      return ExitCode.ok;
    } finally {
      await backend.close();
    }
  },
};

/** hostColumn shows a set's machine: host name (12 characters at most) and the first digits of its id. */
function hostColumn(m: { id: string; host: string } | null): string {
  return m === null ? '(legacy)' : `${m.host.slice(0, 12)} ${m.id.slice(0, 8)}`;
}
