/**
 * audit/audit: a git repository in the state dir that records, for every completed backup set, the
 * manifest of its source (audit form: paths, sizes, times, modes and hashes, never file contents).
 * `git log -p` on it reads as a history of the sources: which file changed in which backup.
 *
 * Layout: one file per source, `<source>.manifest`, entry lines in pathCompare order without `set`.
 * One commit per set, dated with the backup's time, with trailers that make it machine-readable:
 *   2026-11-29 daily INCR 261129_INCR_docs: +3 ~1 -2
 *
 *   <a sentence>
 *
 *   Strata-Set: 261129_INCR_docs
 *   Strata-Source: docs  (and Strata-Tier, Strata-Type, Strata-Added, Strata-Modified, Strata-Deleted)
 * git runs isolated from the user's and the system's configuration: no hooks, no signing, fixed identity.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { parseLine, sameContent, serializeEntry, type ManifestEntry, type ManifestLine } from '../core/manifest.js';
import { StrataError, errnoCode, errorMessage } from '../errors.js';
import { run, lastLines, type RunOptions, type RunResult } from '../exec/run.js';
import { LineWriter, readLines } from '../io/lines.js';

/** AuditCommit describes one completed set for the audit trail. */
export interface AuditCommit {
  source: string;
  /** The set's full manifest (JSONL, header included). */
  manifestFile: string;
  /** The backup's time: becomes the commit's author and committer date. */
  date: Date;
  tier: string;
  type: 'FULL' | 'INCR';
  setId: string;
  summary: { added: number; modified: number; deleted: number };
}

/** AuditLogEntry is one backup run as the trail recorded it. */
export interface AuditLogEntry {
  /** The backup's time, ISO 8601 UTC (the commit's author date). */
  date: string;
  commit: string;
  source: string;
  tier: string;
  type: string;
  setId: string;
  added: number;
  modified: number;
  deleted: number;
}

/** FileChange is one backup in which a path was added, changed or removed. */
export interface FileChange {
  /** The backup's time, ISO 8601 UTC. */
  date: string;
  commit: string;
  source: string;
  setId: string;
  tier: string;
  change: 'added' | 'modified' | 'deleted' | 'metadata';
  /** The entry after the change (absent for 'deleted'). */
  entry?: ManifestEntry;
  /** The entry before the change (absent for 'added'). */
  previous?: ManifestEntry;
}

// The same rule as source names in the config (src/config/schema.ts), so every configured source fits.
const SOURCE_NAME = /^[A-Za-z0-9._-]+$/;
// Commit header lines in `git log` output: a record separator that never occurs in JSON lines or diffs.
const RS = '\x1e';
const US = '\x1f';
const HEADER_FORMAT = `${RS}%H${US}%aI${US}%(trailers:only,unfold,separator=%x1f)`;

function checkSource(source: string): void {
  if (!SOURCE_NAME.test(source) || source === '.' || source === '..') {
    throw new StrataError('USAGE', `source name ${JSON.stringify(source)} cannot be used in the audit trail`, {
      hint: 'Source names may use letters, digits, ".", "_" and "-" (and are not "." or "..").',
    });
  }
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

interface CommitHeader {
  commit: string;
  date: string;
  trailers: Map<string, string>;
}

function parseHeader(line: string): CommitHeader {
  const [commit = '', date = '', ...trailers] = line.slice(1).split(US);
  const map = new Map<string, string>();
  for (const t of trailers) {
    const i = t.indexOf(':');
    if (i > 0) map.set(t.slice(0, i).trim(), t.slice(i + 1).trim());
  }
  return { commit, date: new Date(date).toISOString(), trailers: map };
}

/**
 * auditFormLine gives a manifest entry line in the audit form (serializeEntry(e, false): the same
 * line without its `set`) by cutting the key out, '' for a deletion line, or undefined when the line
 * is not in serializeEntry's form (then it is parsed). Inside JSON strings every quote is escaped, so
 * an unescaped `,"set":"` is a key: the entry's own `set`, which serializeEntry writes before any
 * `xattrs` object (where an attribute could be named "set").
 */
export function auditFormLine(line: string): string | undefined {
  if (line.startsWith('{"deleted":')) return '';
  if (!line.startsWith('{"path":"') || !line.endsWith('}')) return undefined;
  const i = line.indexOf(',"set":"');
  const x = line.indexOf(',"xattrs":{');
  if (i < 0 || (x >= 0 && x < i)) return line;
  const end = line.indexOf('"', i + 8);
  if (end < 0) return undefined;
  return line.slice(0, i) + line.slice(end + 1);
}

function parseManifestLine(line: string, n: number, file: string): ManifestLine {
  try {
    return parseLine(line);
  } catch (e) {
    throw new StrataError('DAMAGED', `manifest ${file}, line ${n} is malformed: ${errorMessage(e)}`, { cause: e });
  }
}

/** AuditTrail is the git repository of one strata state dir. */
export class AuditTrail {
  /** dir is the repository's working folder (inside the state dir; never a user's folder). */
  constructor(readonly dir: string) {}

  private env(date?: Date): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: this.dir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_OPTIONAL_LOCKS: '0',
      LC_ALL: 'C',
      TZ: 'UTC',
    };
    if (date !== undefined) {
      const when = `@${Math.floor(date.getTime() / 1000)} +0000`;
      env['GIT_AUTHOR_DATE'] = when;
      env['GIT_COMMITTER_DATE'] = when;
    }
    return env;
  }

  private async git(args: string[], options: RunOptions & { date?: Date } = {}): Promise<RunResult> {
    const { date, ...rest } = options;
    const full = [
      '-c', 'user.name=strata', '-c', 'user.email=strata@localhost', '-c', 'commit.gpgsign=false', '-c', 'tag.gpgsign=false',
      '-c', 'core.hooksPath=/dev/null', '-c', 'core.quotePath=false', '-c', 'core.autocrlf=false', '-c', 'core.fsmonitor=false',
      '-c', 'log.showSignature=false', '-c', 'diff.external=', '-c', 'color.ui=false', '-c', 'i18n.logOutputEncoding=UTF-8',
      ...args,
    ];
    const r = await run('git', full, { cwd: this.dir, env: this.env(date), ...rest });
    if (r.exitCode !== 0) {
      const lock = /index\.lock/.test(r.stderr);
      throw new StrataError('TOOL_FAILED', `git ${args[0] ?? ''} failed in the audit trail ${this.dir}: ${lastLines(r.stderr)}`, {
        hint: lock
          ? `A crashed run left ${nodePath.join(this.dir, '.git', 'index.lock')}; if no strata is running, delete it and run again.`
          : 'The audit trail is only a record; check the repository with `git -C <state>/audit fsck`.',
      });
    }
    return r;
  }

  /** exists tells whether the repository has been created (commands that only read must not create it). */
  async exists(): Promise<boolean> {
    try {
      await stat(nodePath.join(this.dir, '.git', 'HEAD'));
      return true;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return false;
      throw e;
    }
  }

  /** init creates the repository if it does not exist yet (idempotent). */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (await this.exists()) return;
    await this.git(['init', '-q', '-b', 'main', '--template=']);
    // Manifests are JSON lines: make sure git never treats them as binary or converts line ends.
    await mkdir(nodePath.join(this.dir, '.git', 'info'), { recursive: true });
    await writeFile(nodePath.join(this.dir, '.git', 'info', 'attributes'), '*.manifest text eol=lf diff\n');
  }

  /**
   * clearStaleLocks removes the lock files a git killed mid-command leaves (index.lock and the ref
   * locks): with one, every later git command fails and no backup could complete again. Call it only
   * while holding the job lock — then no other strata runs git here. Returns the files removed.
   */
  async clearStaleLocks(): Promise<string[]> {
    const removed: string[] = [];
    for (const rel of ['index.lock', 'HEAD.lock', 'refs/heads/main.lock']) {
      const f = nodePath.join(this.dir, '.git', rel);
      try {
        await rm(f);
        removed.push(f);
      } catch (e) {
        if (errnoCode(e) !== 'ENOENT') throw e;
      }
    }
    return removed;
  }

  /** hasSet tells whether a set was already committed (a run that crashed after the set was complete
   * commits it on the next run; committing twice must not happen). */
  async hasSet(setId: string): Promise<boolean> {
    // One git run (every backup asks): `git log --all` in a trail without commits lists nothing;
    // should a git refuse it there, that is told apart by asking for HEAD.
    let r: RunResult;
    try {
      r = await this.git(['log', '--all', '-F', `--grep=Strata-Set: ${setId}`, `--format=%(trailers:key=Strata-Set,valueonly,separator=%x1f)`]);
    } catch (e) {
      if (!(await this.hasCommits())) return false;
      throw e;
    }
    return r.stdout.split('\n').flatMap((l) => l.split(US)).some((v) => v.trim() === setId);
  }

  private async hasCommits(): Promise<boolean> {
    const r = await run('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: this.dir, env: this.env() });
    return r.exitCode === 0;
  }

  /** commit records one completed set: it rewrites `<source>.manifest` from the set's manifest (streamed)
   * and commits it dated at the backup's time. It returns the commit id, or undefined when the set was
   * already recorded. */
  async commit(c: AuditCommit): Promise<string | undefined> {
    checkSource(c.source);
    if (await this.hasSet(c.setId)) return undefined;
    const file = `${c.source}.manifest`;
    const target = nodePath.join(this.dir, file);
    const tmp = `${target}.tmp`;
    const out = await LineWriter.create(tmp);
    try {
      let n = 0;
      for await (const line of readLines(c.manifestFile)) {
        n++;
        // Entry lines as serializeEntry writes them lose their `set` without being parsed (the
        // audit trail of 200,000 files took seconds of parsing and serialising); anything else is parsed.
        const fast = n > 1 ? auditFormLine(line) : undefined;
        if (fast !== undefined) {
          if (fast !== '') await out.line(fast);
          continue;
        }
        const parsed = parseManifestLine(line, n, c.manifestFile);
        if (parsed.kind === 'entry') await out.line(serializeEntry(parsed.entry, false));
        else if (parsed.kind === 'header' && parsed.header.source !== c.source) {
          throw new StrataError('INTERNAL', `manifest ${c.manifestFile} is of source ${parsed.header.source}, not ${c.source}`);
        } else if (parsed.kind === 'header' && n !== 1) {
          throw new StrataError('DAMAGED', `manifest ${c.manifestFile} has a second header at line ${n}`);
        }
      }
      await out.close();
    } catch (e) {
      await out.abandon();
      await rm(tmp, { force: true });
      throw e;
    }
    await rename(tmp, target);
    await this.git(['add', '--', file]);
    const { added, modified, deleted } = c.summary;
    const subject = `${utcDay(c.date)} ${c.tier} ${c.type} ${c.setId}: +${added} ~${modified} -${deleted}`;
    const body = [
      `${c.type === 'FULL' ? 'Full' : 'Incremental'} backup of source "${c.source}" (${c.tier}) at ${c.date.toISOString()}:`,
      `${added} added, ${modified} modified, ${deleted} deleted since the previous set.`,
    ].join('\n');
    const trailers = [
      `Strata-Set: ${c.setId}`,
      `Strata-Source: ${c.source}`,
      `Strata-Tier: ${c.tier}`,
      `Strata-Type: ${c.type}`,
      `Strata-Added: ${added}`,
      `Strata-Modified: ${modified}`,
      `Strata-Deleted: ${deleted}`,
    ].join('\n');
    // --allow-empty: a backup in which nothing changed is still a backup run worth a line in the log.
    await this.git(['commit', '-q', '--allow-empty', '--no-verify', '--cleanup=verbatim', '-F', '-', '--', file], {
      input: `${subject}\n\n${body}\n\n${trailers}\n`,
      date: c.date,
    });
    const head = await this.git(['rev-parse', 'HEAD']);
    return head.stdout.trim();
  }

  /** log lists the backup runs recorded, newest first. */
  async log(options: { source?: string } = {}): Promise<AuditLogEntry[]> {
    if (!(await this.hasCommits())) return [];
    const args = ['log', `--format=${HEADER_FORMAT}`];
    if (options.source !== undefined) {
      checkSource(options.source);
      args.push('-F', `--grep=Strata-Source: ${options.source}`);
    }
    const r = await this.git(args, { maxCapture: 1 << 30 });
    const out: AuditLogEntry[] = [];
    for (const line of r.stdout.split('\n')) {
      if (!line.startsWith(RS)) continue;
      const h = parseHeader(line);
      const t = (k: string): string => h.trailers.get(k) ?? '';
      if (options.source !== undefined && t('Strata-Source') !== options.source) continue;
      out.push({
        date: h.date, commit: h.commit, source: t('Strata-Source'), tier: t('Strata-Tier'), type: t('Strata-Type'), setId: t('Strata-Set'),
        added: Number(t('Strata-Added')), modified: Number(t('Strata-Modified')), deleted: Number(t('Strata-Deleted')),
      });
    }
    return out;
  }

  /** history lists the backups in which `path` (relative to its source) was added, changed or removed,
   * newest first. It reads `git log -p` as a stream, pre-filtered by git with -G on the path's JSON form,
   * and then matches the parsed `"path"` exactly, so newlines and any Unicode in names work. */
  async history(path: string, options: { source?: string } = {}): Promise<FileChange[]> {
    if (!(await this.hasCommits())) return [];
    if (options.source !== undefined) checkSource(options.source);
    const needle = `{"path":${JSON.stringify(path)},`;
    // Every ASCII punctuation becomes "." so the pattern over-matches and never misses (exact check below).
    const pattern = needle.replace(/[^A-Za-z0-9\u0080-\uffff]/g, '.');
    const pathspec = options.source !== undefined ? [`${options.source}.manifest`] : [':(glob)*.manifest'];
    const changes: FileChange[] = [];
    let header: CommitHeader | undefined;
    let source = '';
    let removed: ManifestEntry | undefined;
    let added: ManifestEntry | undefined;
    const flush = (): void => {
      if (header !== undefined && (removed !== undefined || added !== undefined)) {
        const change: FileChange['change'] =
          removed === undefined ? 'added' : added === undefined ? 'deleted' : sameContent(removed, added) ? 'metadata' : 'modified';
        const c: FileChange = { date: header.date, commit: header.commit, source, setId: header.trailers.get('Strata-Set') ?? '', tier: header.trailers.get('Strata-Tier') ?? '', change };
        if (added !== undefined) c.entry = added;
        if (removed !== undefined) c.previous = removed;
        changes.push(c);
      }
      removed = undefined;
      added = undefined;
    };
    const onLine = (line: string): void => {
      if (line.startsWith(RS)) {
        flush();
        header = parseHeader(line);
      } else if (line.startsWith('diff --git a/')) {
        flush();
        const m = / b\/(.+)\.manifest$/.exec(line);
        source = m?.[1] ?? '';
      } else if ((line.startsWith('+{') || line.startsWith('-{')) && line.startsWith(needle, 1)) {
        const parsed = parseLine(line.slice(1));
        if (parsed.kind !== 'entry' || parsed.entry.path !== path) return;
        if (line.startsWith('+')) added = parsed.entry;
        else removed = parsed.entry;
      }
    };
    let rest = '';
    await this.git(['log', '-p', '-U0', '--no-renames', '--no-ext-diff', '--no-textconv', `--format=${HEADER_FORMAT}`, `-G${pattern}`, '--', ...pathspec], {
      maxCapture: 1 << 16,
      onStdout: (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) onLine(l);
      },
    });
    if (rest !== '') onLine(rest);
    flush();
    return changes;
  }
}
