/** commands/list: `strata list [--set ID] [--protection] [--json]` — the complete sets on the destination. */
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { destinationsOf, type StrataConfig } from '../config/schema.js';
import { contentHash } from '../core/replicate.js';
import { ExitCode, StrataError, errorMessage, isStrataError } from '../errors.js';
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
  'all-destinations': { type: 'boolean', help: 'read every destination of destinations: and show which hold each set (column ON)' },
} as const satisfies OptionSpecs;

/** listCommand prints the sets: id, tier, type, size, chain. */
export const listCommand: Command = {
  name: 'list',
  summary: 'list the complete sets on the destination: tier, type, size, chain, protection',
  usage: 'list [--from NAME | --all-destinations] [--dest DEST] [--source NAME] [--job NAME] [--host HOST] [--set ID] [--protection] [--json]',
  options: listOptions,
  examples: ['strata list', 'strata list --all-destinations', 'strata list --from offsite', 'strata list --protection --set 261129_FULL_docs', 'strata --json list --dest s3://bucket/backups'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('list', args, listOptions);
    const job = await loadJob(ctx, { dest: values.dest }, false);
    const config = configFrom(job, values.from);
    const named = values.dest === undefined ? destinationsOf(job) : [];
    const listed = values.from ?? named[0]?.name;
    if (values['all-destinations'] === true && named.length < 2) {
      throw new StrataError('USAGE', '--all-destinations: the config has one destination', { hint: 'List them under destinations: (the first is the primary); strata list shows the one there is.' });
    }
    const backend = await openDestination(ctx, config);
    try {
      const catalog = await new Repository(backend).catalog();
      // Every job and machine on the destination is shown (a fresh machine picks one for restore);
      // --job and --host narrow the list.
      const host = values.host;
      const all = catalog.complete
        .filter((d) => (values.source === undefined || d.source === values.source) && (values.job === undefined || d.job === values.job) && (host === undefined || matchesHost(d.machine, host)))
        .sort(byCreated);
      const keep = (d: Descriptor): boolean => (values.set === undefined || d.id === values.set) && (values.source === undefined || d.source === values.source) && (values.job === undefined || d.job === values.job) && (host === undefined || matchesHost(d.machine, host));
      const holders = values['all-destinations'] === true ? await holdersOf(ctx, job, named.map((d) => d.name), listed ?? '', catalog.complete, keep) : undefined;
      const sets = values.set === undefined ? all : all.filter((d) => d.id === values.set);
      if (values.set !== undefined && sets.length === 0 && (holders?.elsewhere.length ?? 0) === 0) {
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
        // --all-destinations: the destinations holding this very set (same volumes and manifest).
        ...(holders === undefined ? {} : { destinations: holders.of(d) }),
      }));
      const identities = identitiesOf(all);
      ctx.out.data({
        ...(named.length > 1 ? { destination: listed, destinations: named.map((d) => d.name) } : {}),
        ...(holders === undefined ? {} : { elsewhere: holders.elsewhere, unreadable: holders.unreadable }),
        sets: rows, machines: identities.map((i) => ({ job: i.job, machine: i.machine, sources: i.sources, newest: i.newest.id, sets: i.sets })), incomplete: catalog.incomplete.map((i) => i.id), problems: catalog.problems });
      if (rows.length === 0) ctx.out.result('no complete sets');
      else {
        const on = Math.max(2, named.reduce((n, d) => n + d.name.length + 1, 0) - 1);
        const onCol = (r: { destinations?: string[] }): string => (holders === undefined ? '' : `${(r.destinations ?? []).join(',').padEnd(on)} `);
        ctx.out.result(`${'SET'.padEnd(34)} ${'JOB'.padEnd(16)} ${'HOST'.padEnd(21)} ${'TIER'.padEnd(8)} ${'TYPE'.padEnd(5)} ${'CREATED'.padEnd(20)} ${'SIZE'.padStart(10)} ${'ENTRIES'.padStart(7)}  ${holders === undefined ? '' : `${'ON'.padEnd(on)} `}PROTECTION  RECOVERY  CHAIN`);
        for (const r of rows) {
          ctx.out.result(
            `${r.id.padEnd(34)} ${r.job.padEnd(16)} ${hostColumn(r.machine).padEnd(21)} ${r.tier.padEnd(8)} ${r.type.padEnd(5)} ${r.created.slice(0, 19).replace('T', ' ').padEnd(20)} ${formatBytes(r.bytes).padStart(10)} ${String(r.files).padStart(7)}  ${onCol(r)}` +
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
      for (const e of holders?.elsewhere ?? []) ctx.out.result(`${e.id} is not on ${listed ?? 'this destination'}, only on ${e.destinations.join(', ')} (strata list --from ${e.destinations[0] ?? ''})`);
      for (const u of holders?.unreadable ?? []) ctx.out.warn(`destination ${u.name} could not be read: ${u.message}`);
      if (named.length > 1 && holders === undefined) {
        ctx.out.info(`these are the sets on ${listed ?? ''}, one of ${named.length} destinations (${named.map((d) => d.name).join(', ')}); --from NAME lists another, --all-destinations shows which hold each set`);
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

/** Holders says, for --all-destinations, which destinations hold each set and which sets are on others only. */
interface Holders {
  of: (d: Descriptor) => string[];
  elsewhere: { id: string; destinations: string[] }[];
  unreadable: { name: string; message: string }[];
}

/**
 * holdersOf reads every other destination's catalog: a set is held where a complete set with the
 * same volumes and manifest is (contentHash: a promoted copy counts, the same id with other
 * contents does not). A destination that cannot be read is reported, not fatal.
 */
async function holdersOf(ctx: CommandContext, job: StrataConfig, names: readonly string[], listed: string, own: readonly Descriptor[], keep: (d: Descriptor) => boolean): Promise<Holders> {
  const held = new Map<string, string[]>();
  const add = (d: Descriptor, name: string): void => {
    const h = contentHash(d);
    held.set(h, [...(held.get(h) ?? []), name]);
  };
  const others = new Map<string, Descriptor>();
  const unreadable: Holders['unreadable'] = [];
  for (const name of names) {
    if (name === listed) {
      for (const d of own) add(d, name);
      continue;
    }
    try {
      const backend = await openDestination(ctx, configFrom(job, name));
      try {
        for (const d of (await new Repository(backend).catalog()).complete) {
          add(d, name);
          if (keep(d)) others.set(contentHash(d), d);
        }
      } finally {
        await backend.close();
      }
    } catch (e) {
      if (isStrataError(e, 'CANCELLED')) throw e;
      unreadable.push({ name, message: errorMessage(e) });
    }
  }
  const mine = new Set(own.map(contentHash));
  const elsewhere = [...others].filter(([h]) => !mine.has(h)).map(([h, d]) => ({ id: d.id, destinations: held.get(h) ?? [] })).sort((a, b) => a.id.localeCompare(b.id));
  return { of: (d) => held.get(contentHash(d)) ?? [], elsewhere, unreadable };
}
