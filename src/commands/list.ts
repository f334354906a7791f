/** commands/list: `strata list [--json]` — the complete sets on the destination. */
import { parseCommandArgs } from '../cli/args.js';
import type { Command } from '../cli/context.js';
import { ExitCode } from '../errors.js';
import { byCreated, chainOf } from '../core/catalog.js';
import { setBytes } from '../core/descriptor.js';
import { Repository } from '../repository/repository.js';
import { formatBytes } from '../ui/output.js';
import { loadJob, openDestination } from './common.js';

/** listCommand prints the sets: id, tier, type, size, chain. */
export const listCommand: Command = {
  name: 'list',
  summary: 'list the complete sets on the destination: tier, type, size, chain, protection',
  usage: 'list [--dest DEST] [--source NAME] [--json]',
  async run(ctx, args) {
    const { values } = parseCommandArgs('list', args, { dest: { type: 'string' }, source: { type: 'string' } });
    const config = await loadJob(ctx, { dest: values.dest }, false);
    const backend = await openDestination(ctx, config);
    try {
      const catalog = await new Repository(backend).catalog();
      const sets = catalog.complete.filter((d) => values.source === undefined || d.source === values.source).sort(byCreated);
      const rows = sets.map((d) => ({
        id: d.id, source: d.source, tier: d.tier, type: d.type, created: d.created, bytes: setBytes(d), volumes: d.volumes.length,
        files: d.stats.files, sourceBytes: d.stats.bytes, base: d.base, chain: chainOf(d, sets).map((s) => s.id), depends: d.depends,
        protection: d.protection === null ? null : { strategy: d.protection.strategy, redundancyPercent: d.protection.redundancyPercent, units: d.protection.units.length },
      }));
      ctx.out.data({ sets: rows, incomplete: catalog.incomplete.map((i) => i.id), problems: catalog.problems });
      if (rows.length === 0) ctx.out.result('no complete sets');
      else {
        ctx.out.result(`${'SET'.padEnd(34)} ${'TIER'.padEnd(8)} ${'TYPE'.padEnd(5)} ${'CREATED'.padEnd(20)} ${'SIZE'.padStart(10)} ${'FILES'.padStart(7)}  PROTECTION  CHAIN`);
        for (const r of rows) {
          ctx.out.result(
            `${r.id.padEnd(34)} ${r.tier.padEnd(8)} ${r.type.padEnd(5)} ${r.created.slice(0, 19).replace('T', ' ').padEnd(20)} ${formatBytes(r.bytes).padStart(10)} ${String(r.files).padStart(7)}  ` +
              `${(r.protection === null ? '-' : `${r.protection.strategy} ${r.protection.redundancyPercent}%`).padEnd(10)}  ${r.chain.length > 1 ? r.chain.slice(1).join(' <- ') : '-'}`,
          );
        }
      }
      for (const i of catalog.incomplete) ctx.out.info(`incomplete (not counted): ${i.id}`);
      for (const p of catalog.problems) ctx.out.warn(`${p.id}: ${p.message}`);
      return ExitCode.ok;
    } finally {
      await backend.close();
    }
  },
};
