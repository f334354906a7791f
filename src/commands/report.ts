/** commands/report: `strata report --html FILE | --json` — a picture of the backups on the destination. */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { parseCommandArgs } from './args.js';
import type { Command, OptionSpecs } from './context.js';
import { ExitCode, StrataError, fromFsError } from '../errors.js';
import { matchesHost } from '../core/catalog.js';
import { buildReport } from '../core/report/model.js';
import { renderHtml } from '../core/report/html.js';
import { Repository } from '../repository/repository.js';
import { jobOfConfigFile, loadJob, openDestination } from './common.js';

const reportOptions = {
  html: { type: 'string', value: 'FILE', help: 'write the report as one self-contained HTML page to FILE' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
  source: { type: 'string', value: 'NAME', help: 'only sets of this source' },
  job: { type: 'string', value: 'NAME', help: 'only sets of this job (default: the config file\'s job)' },
  host: { type: 'string', value: 'HOST', help: 'only sets of this machine (host name or machine id prefix)' },
} as const satisfies OptionSpecs;

/** reportCommand writes the HTML report (or prints its data with --json). */
export const reportCommand: Command = {
  name: 'report',
  summary: 'a picture of the backups: sets by tier over time, stored size, protection, chains, runs, warnings',
  usage: 'report --html FILE [--dest DEST] [--source NAME] [--job NAME] [--host HOST] | --json report',
  options: reportOptions,
  examples: ['strata report --html backups.html', 'strata --json report --dest s3://bucket/backups'],
  async run(ctx, args) {
    const { values } = parseCommandArgs('report', args, reportOptions);
    if (values.html === undefined && !ctx.global.json) {
      throw new StrataError('USAGE', 'report needs --html FILE (or --json for the data)', { hint: 'Write strata report --html backups.html, then open the file in a browser.' });
    }
    const config = await loadJob(ctx, { dest: values.dest }, false);
    const job = values.job ?? jobOfConfigFile(config);
    const backend = await openDestination(ctx, config);
    let model;
    try {
      const catalog = await new Repository(backend).catalog();
      const host = values.host;
      const sets = catalog.complete.filter(
        (d) => (values.source === undefined || d.source === values.source) && (job === undefined || d.job === job) && (host === undefined || matchesHost(d.machine, host)),
      );
      model = buildReport({
        now: ctx.clock.now(),
        destination: backend.description,
        job: job ?? null,
        sets,
        allComplete: catalog.complete,
        incomplete: catalog.incomplete.map((i) => i.id),
        problems: catalog.problems,
        runs: [],
      });
    } finally {
      await backend.close();
    }
    ctx.out.data(model);
    if (values.html !== undefined) {
      const file = path.resolve(values.html);
      const tmp = `${file}.tmp-${process.pid}`;
      try {
        await fsp.writeFile(tmp, renderHtml(model), { mode: 0o644 });
        await fsp.rename(tmp, file);
      } catch (e) {
        await fsp.rm(tmp, { force: true });
        throw fromFsError(e, `writing the report ${file}`);
      }
      ctx.out.result(`report written to ${file}: ${model.sources.length} source${model.sources.length === 1 ? '' : 's'}, ${model.sources.reduce((n, s) => n + s.sets.length, 0)} sets, ${model.warnings.length} warning${model.warnings.length === 1 ? '' : 's'}`);
    }
    for (const w of model.warnings) ctx.out.warn(w);
    return ExitCode.ok;
  },
};
