/**
 * commands/browse: `strata ls`, `strata find` and `strata diff` — a set's files from its encrypted
 * manifest, without restoring anything (pipeline/browse, core/browse).
 */
import * as fsp from 'node:fs/promises';
import { parseCommandArgs } from './args.js';
import type { CommandContext, OptionSpecs } from './context.js';
import type { Command } from './context.js';
import type { StrataConfig } from '../config/schema.js';
import { diffEntries, entryJson, findMatcher, inFolder, modeString, normalizeBrowsePath, shownPath, shownTime, type DiffChange } from '../core/browse.js';
import { matchesHost } from '../core/catalog.js';
import type { Descriptor } from '../core/descriptor.js';
import { sameMetadata, type ManifestEntry } from '../core/manifest.js';
import { counted } from '../core/words.js';
import { ExitCode, StrataError } from '../errors.js';
import { Manifests } from '../pipeline/browse.js';
import { Repository } from '../repository/repository.js';
import { formatBytes } from '../ui/output.js';
import { getPassword, jobOfConfigFile, loadJob, openWithTools, ownMachineId, parseWhen, privateStateFolder, workDirFor } from './common.js';
import { resolveSourceArgs } from './source-paths.js';

const scopeOptions = {
  source: { type: 'string', value: 'NAME', help: 'only this source' },
  job: { type: 'string', value: 'NAME', help: 'the job whose sets to read (on a destination several jobs share)' },
  host: { type: 'string', value: 'HOST', help: 'the machine whose sets to read: a host name or a machine id prefix' },
  dest: { type: 'string', value: 'DEST', help: 'the destination, without a config file' },
} as const satisfies OptionSpecs;

/** withManifests opens the destination and its catalog with the password, runs `fn`, and closes it. */
async function withManifests<T>(ctx: CommandContext, dest: string | undefined, fn: (m: Manifests, config: StrataConfig) => Promise<T>): Promise<T> {
  const config = await loadJob(ctx, { dest }, false);
  const { tools, backend } = await openWithTools(ctx, config);
  try {
    const password = await getPassword(ctx, config, false);
    const workDir = workDirFor(ctx, config);
    await privateStateFolder(ctx);
    await fsp.mkdir(workDir, { recursive: true });
    return await fn(await Manifests.open(new Repository(backend), tools, password, workDir), config);
  } finally {
    await backend.close();
  }
}

/** setLabel names a set for a heading: id, type, time and, for an INCR, the set it is based on. */
function setLabel(d: Descriptor): string {
  return `${d.id} (${d.type}${d.base === null ? '' : ` on ${d.base}`}, ${d.created.slice(0, 19).replace('T', ' ')} UTC)`;
}

/** lsLine is one `ls -l` style line: type and mode, size, mtime (UTC), path (and a link's target). */
function lsLine(e: ManifestEntry, sizeWidth: number): string {
  const target = e.type === 'symlink' ? ` -> ${shownPath(e.target ?? '')}` : '';
  return `${modeString(e.type, e.mode)}  ${String(e.size).padStart(sizeWidth)}  ${shownTime(e.mtimeNs)}  ${shownPath(e.path)}${target}`;
}

const lsOptions = {
  set: { type: 'string', value: 'ID', help: 'the tree as of this set (default: the newest complete set of each source)' },
  at: { type: 'string', value: 'DATETIME', help: 'the tree at this moment, as restore --at would restore it' },
  recursive: { type: 'boolean', short: 'r', default: false, help: 'everything below the folder, not only its direct children' },
  ...scopeOptions,
} as const satisfies OptionSpecs;

/** lsCommand lists a folder of a set (its direct children), or one file, like `ls -l`. */
export const lsCommand: Command = {
  name: 'ls',
  summary: 'list the files of a set (the newest by default) like ls -l, from its manifest, without restoring',
  usage: 'ls [--set ID | --at DATETIME] [--source NAME] [-r] [--job NAME] [--host HOST] [--dest DEST] [PATH]',
  options: lsOptions,
  examples: ['strata ls                           (the top folder of the newest set of each source)', 'strata ls --at 2026-11-29 -r reports', 'strata ls --set 261201_INCR_docs /home/me/docs/reports'],
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('ls', args, lsOptions, true);
    if (positionals.length > 1) throw new StrataError('USAGE', 'ls takes at most one PATH', { hint: 'e.g. strata ls reports (a folder lists its direct children; -r everything below).' });
    if (values.at !== undefined && values.set !== undefined) throw new StrataError('USAGE', '--at and --set cannot be used together', { hint: 'Pick a moment (--at) or a set (--set).' });
    const at = values.at === undefined ? undefined : parseWhen(values.at);
    return withManifests(ctx, values.dest, async (m, config) => {
      const { source, paths } = await resolveSourceArgs(config.sources, positionals, values.source, 'ls');
      const want = normalizeBrowsePath(paths[0] ?? '');
      const chosen = m.chosen({ setId: values.set, at, source, job: values.job ?? jobOfConfigFile(config), host: values.host, machineId: await ownMachineId(ctx) });
      const listings: { source: string; set: string; type: string; created: string; base: string | null; path: string; entries: ManifestEntry[] }[] = [];
      for (const d of chosen) {
        const entries: ManifestEntry[] = [];
        let self: ManifestEntry | undefined;
        for await (const e of await m.entries(d)) {
          if (e.path === want) self = e;
          else if (inFolder(e.path, want, values.recursive)) entries.push(e);
        }
        // A file (or a link) lists itself; a folder its contents; a path in no set is an error below.
        if (self !== undefined && self.type !== 'dir') entries.push(self);
        if (want !== '' && self === undefined && entries.length === 0) continue;
        listings.push({ source: d.source, set: d.id, type: d.type, created: d.created, base: d.base, path: want, entries });
      }
      if (listings.length === 0) {
        throw new StrataError('NOT_FOUND', `no ${JSON.stringify(want)} in ${chosen.map((d) => `set ${d.id}`).join(', ')}`, {
          hint: 'PATH is relative to the source folder (or absolute, inside it); strata find PATTERN shows the sets that hold a path.',
        });
      }
      ctx.out.data({ listings: listings.map((l) => ({ ...l, entries: l.entries.map(entryJson) })) });
      for (const [i, l] of listings.entries()) {
        if (i > 0) ctx.out.result('');
        const d = chosen.find((c) => c.id === l.set);
        ctx.out.result(`${l.source}${l.path === '' ? '' : `/${shownPath(l.path)}`}: set ${d === undefined ? l.set : setLabel(d)}`);
        const width = Math.max(1, ...l.entries.map((e) => String(e.size).length));
        for (const e of l.entries) ctx.out.result(lsLine(e, width));
        const files = l.entries.filter((e) => e.type === 'file');
        ctx.out.result(`${counted(l.entries.length, 'entry', 'entries')}, ${counted(files.length, 'file')}, ${formatBytes(files.reduce((s, e) => s + e.size, 0))}`);
      }
      return ExitCode.ok;
    });
  },
};

/** FindVersion is one version of a matching path and the sets (consecutive, oldest first) that hold it. */
interface FindVersion {
  entry: ManifestEntry;
  sets: Descriptor[];
}

const findOptions = { ...scopeOptions } as const satisfies OptionSpecs;

/** findCommand lists the paths matching a glob in every set of the job, with the sets holding each version. */
export const findCommand: Command = {
  name: 'find',
  summary: 'which sets hold paths matching a glob (picomatch: * ? ** [abc] {a,b}), with sizes and times',
  usage: 'find [--source NAME] [--job NAME] [--host HOST] [--dest DEST] PATTERN',
  options: findOptions,
  examples: ["strata find '*.xlsx'                (no \"/\": a name in any folder)", "strata find 'reports/2026/**'", 'strata find /home/me/docs/notes.txt'],
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('find', args, findOptions, true);
    if (positionals.length !== 1) throw new StrataError('USAGE', 'find needs exactly one PATTERN', { hint: "Quote it for the shell: strata find '*.xlsx'." });
    return withManifests(ctx, values.dest, async (m, config) => {
      const { source, paths } = await resolveSourceArgs(config.sources, positionals, values.source, 'find', true);
      const pattern = paths[0] ?? '';
      const match = findMatcher(pattern);
      const sets = m.inScope({ source, job: values.job ?? jobOfConfigFile(config), host: values.host, machineId: await ownMachineId(ctx) });
      // Per source and path, its versions: a version ends where the entry changes or the path is absent.
      const found = new Map<string, { source: string; path: string; versions: FindVersion[]; lastSet: number }>();
      const order = new Map<string, number>();
      const bar = ctx.out.progress('reading manifests', sets.length);
      for (const [n, d] of sets.entries()) {
        bar.update(n, d.id);
        const index = (order.get(d.source) ?? -1) + 1;
        order.set(d.source, index);
        for await (const e of await m.entries(d)) {
          if (!match(e.path)) continue;
          const key = `${d.source}\u0000${e.path}`;
          let f = found.get(key);
          if (f === undefined) {
            f = { source: d.source, path: e.path, versions: [], lastSet: -2 };
            found.set(key, f);
          }
          const v = f.versions.at(-1);
          if (v !== undefined && f.lastSet === index - 1 && sameMetadata(v.entry, e)) v.sets.push(d);
          else f.versions.push({ entry: e, sets: [d] });
          f.lastSet = index;
        }
      }
      bar.done();
      const rows = [...found.values()].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      ctx.out.data({
        pattern, sets: sets.map((d) => d.id),
        matches: rows.map((r) => ({ source: r.source, path: r.path, versions: r.versions.map((v) => ({ ...entryJson(v.entry), sets: v.sets.map((s) => s.id), from: v.sets[0]?.created, to: v.sets.at(-1)?.created })) })),
      });
      if (rows.length === 0) {
        ctx.out.result(`no path matches ${JSON.stringify(pattern)} in ${counted(sets.length, 'set')}`);
        return ExitCode.ok;
      }
      const several = new Set(rows.map((r) => r.source)).size > 1;
      const width = Math.max(4, ...rows.flatMap((r) => r.versions.map((v) => String(v.entry.size).length)));
      ctx.out.result(`${several ? 'SOURCE  ' : ''}${'SIZE'.padStart(width)}  ${'MODIFIED'.padEnd(19)}  PATH  in SETS`);
      for (const r of rows) {
        for (const v of r.versions) {
          const e = v.entry;
          const first = v.sets[0]?.id ?? '';
          const last = v.sets.at(-1)?.id ?? '';
          const inSets = v.sets.length === 1 ? first : v.sets.length === 2 ? `${first}, ${last}` : `${first} … ${last} (${v.sets.length} sets)`;
          ctx.out.result(`${several ? `${r.source}  ` : ''}${String(e.size).padStart(width)}  ${shownTime(e.mtimeNs)}  ${shownPath(r.path)}${e.type === 'dir' ? '/' : ''}  in ${inSets}`);
        }
      }
      ctx.out.result(`${counted(rows.length, 'path')} in ${counted(sets.length, 'set')} searched`);
      return ExitCode.ok;
    });
  },
};

const diffOptions = { job: scopeOptions.job, host: scopeOptions.host, dest: scopeOptions.dest } as const satisfies OptionSpecs;

/** diffCommand lists what changed between two sets of a source. */
export const diffCommand: Command = {
  name: 'diff',
  summary: 'what changed between two sets of a source: added, deleted, modified, with sizes',
  usage: 'diff [--job NAME] [--host HOST] [--dest DEST] SET_A SET_B',
  options: diffOptions,
  examples: ['strata diff 261129_FULL_docs 261201_INCR_docs', 'strata --json diff 261101_FULL_docs 261129_FULL_docs'],
  async run(ctx, args) {
    const { values, positionals } = parseCommandArgs('diff', args, diffOptions, true);
    if (positionals.length !== 2) throw new StrataError('USAGE', 'diff needs two set ids: SET_A SET_B', { hint: 'strata list shows the sets; e.g. strata diff 261129_FULL_docs 261201_INCR_docs.' });
    return withManifests(ctx, values.dest, async (m, config) => {
      const [a, b] = positionals.map((id) => m.byId(id)) as [Descriptor, Descriptor];
      const job = values.job ?? jobOfConfigFile(config);
      for (const d of [a, b]) {
        if (job !== undefined && d.job !== job) throw new StrataError('NOT_FOUND', `set ${d.id} is of job ${d.job}, not ${job}`, { hint: 'Pass --job to read another job\'s sets (strata list shows them).' });
        if (values.host !== undefined && !matchesHost(d.machine, values.host)) throw new StrataError('NOT_FOUND', `set ${d.id} is not of host ${values.host}`, { hint: 'strata list shows each set\'s host.' });
      }
      if (a.source !== b.source) {
        throw new StrataError('USAGE', `sets ${a.id} and ${b.id} are of different sources (${a.source}, ${b.source})`, { hint: 'Compare two sets of one source (strata list --source NAME shows them).' });
      }
      const changes: DiffChange[] = [];
      const totals = { added: 0, addedBytes: 0, modified: 0, deleted: 0, deletedBytes: 0, metadata: 0 };
      for await (const c of diffEntries(await m.entries(a), await m.entries(b))) {
        changes.push(c);
        if (c.change === 'added') {
          totals.added++;
          totals.addedBytes += c.after?.size ?? 0;
        } else if (c.change === 'deleted') {
          totals.deleted++;
          totals.deletedBytes += c.before?.size ?? 0;
        } else totals[c.change]++;
      }
      ctx.out.data({
        source: a.source, from: a.id, to: b.id, ...totals,
        changes: changes.map((c) => ({ change: c.change, path: c.path, before: c.before === undefined ? undefined : entryJson(c.before), after: c.after === undefined ? undefined : entryJson(c.after) })),
      });
      ctx.out.result(`source ${a.source}: ${setLabel(a)} -> ${setLabel(b)}`);
      const mark = { added: '+', deleted: '-', modified: 'M', metadata: 'U' } as const;
      const sizes = changes.map((c) => (c.change === 'modified' && c.before !== undefined && c.after !== undefined ? `${c.before.size} -> ${c.after.size}` : String((c.after ?? c.before)?.size ?? 0)));
      const width = Math.max(1, ...sizes.map((x) => x.length));
      changes.forEach((c, i) => {
        const e = c.after ?? c.before;
        ctx.out.result(`${mark[c.change]}  ${(sizes[i] ?? '').padStart(width)}  ${shownPath(c.path)}${e?.type === 'dir' ? '/' : ''}`);
      });
      ctx.out.result(
        `${totals.added} added (${formatBytes(totals.addedBytes)}), ${totals.modified} modified, ${totals.deleted} deleted (${formatBytes(totals.deletedBytes)}), ${totals.metadata} with other metadata only`,
      );
      return ExitCode.ok;
    });
  },
};
