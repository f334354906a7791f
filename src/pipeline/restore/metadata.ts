/**
 * pipeline/restore/metadata: after a restore has put every path in place, give them their recorded
 * owner and group (as root) and their extended attributes and POSIX ACLs (one `setfattr --restore`
 * run for all of them). What the target's filesystem or privileges refuse is counted and reported,
 * never fatal: the contents are already restored and checked.
 */
import { counted } from '../../core/words.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { dumpBlock } from '../../core/xattrdump.js';
import { errorMessage, isStrataError } from '../../errors.js';
import { run } from '../../exec/run.js';
import { NameIds } from '../../scan/metadata.js';
import { readEntries } from '../manifests.js';

/** NotSet is one kind of metadata that could not be set on some restored paths. */
export interface NotSet {
  what: 'owner' | 'extended attributes/ACLs';
  count: number;
  /** The first few paths, each with the reason. */
  examples: string[];
}

/** RestoreMetadataOptions describes the paths of one restore. */
export interface RestoreMetadataOptions {
  /** The target folder (real path). */
  root: string;
  /** The set's plaintext manifest. */
  manifest: string;
  /** A private work folder for the attribute dump. */
  work: string;
  /** The restore's selection. */
  filter: (p: string) => boolean;
  /** Paths that were not restored (lost). */
  skip: ReadonlySet<string>;
  /** Set owners (root, and not --no-owner). */
  owner: boolean;
  /**
   * The owner and group every restored regular file has: they all come out of the staging folder,
   * where 7-Zip made them (its own owner and group, which the files below it get). A file that
   * should have them is not changed (a chown costs as much as the rest of placing it).
   */
  filesOwnedBy?: { uid: number; gid: number };
  signal?: AbortSignal;
}

const EXAMPLES = 3;

/**
 * restoreMetadata sets owners, extended attributes and ACLs on the restored paths and returns what
 * could not be set. Owners go by name when the name exists on this machine (a user's uid may differ
 * between machines), else by the recorded number — as borg and tar do by default. After a chown
 * (which clears set-user/group-ID bits) and after ACLs (whose mask is the group bits), files get
 * their recorded mode again.
 */
export async function restoreMetadata(o: RestoreMetadataOptions): Promise<NotSet[]> {
  const ids = o.owner ? new NameIds() : undefined;
  const owner: NotSet = { what: 'owner', count: 0, examples: [] };
  const xattrs: NotSet = { what: 'extended attributes/ACLs', count: 0, examples: [] };
  const dumpFile = path.join(o.work, 'xattrs.dump');
  const dump = fs.createWriteStream(dumpFile, { mode: 0o600 });
  let withXattrs = 0;
  let remode = false;
  const note = (n: NotSet, line: string): void => {
    n.count++;
    if (n.examples.length < EXAMPLES) n.examples.push(line);
  };
  for await (const e of readEntries(o.manifest)) {
    if (!o.filter(e.path) || o.skip.has(e.path)) continue;
    if (ids !== undefined && e.uid !== undefined) {
      const uid = ids.uid(e.user) ?? e.uid;
      const gid = ids.gid(e.group) ?? e.gid ?? -1;
      const has = e.type === 'file' ? o.filesOwnedBy : undefined;
      try {
        if (has === undefined || has.uid !== uid || (gid !== -1 && has.gid !== gid)) fs.lchownSync(path.join(o.root, e.path), uid, gid);
        if (e.type === 'file' && (e.mode & 0o6000) !== 0) remode = true;
      } catch (err) {
        note(owner, `${JSON.stringify(e.path)}: ${errorMessage(err)}`);
      }
    }
    if (e.xattrs !== undefined) {
      withXattrs++;
      if (e.type !== 'symlink') remode = true;
      if (!dump.write(dumpBlock(e.path, e.xattrs))) await once(dump, 'drain');
    }
  }
  dump.end();
  await once(dump, 'finish');
  if (withXattrs > 0) {
    try {
      const r = await run('setfattr', ['--no-dereference', `--restore=${dumpFile}`], { cwd: o.root, signal: o.signal });
      for (const line of r.stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '')) note(xattrs, line.replace(/^setfattr: /, ''));
      if (r.exitCode !== 0 && xattrs.count === 0) note(xattrs, `setfattr exited with ${r.exitCode}`);
    } catch (err) {
      if (!isStrataError(err) || err.code !== 'MISSING_TOOL') throw err;
      xattrs.count = withXattrs;
      xattrs.examples = ['setfattr is not installed (Debian/Ubuntu: apt-get install attr)'];
    }
  }
  fs.rmSync(dumpFile, { force: true });
  if (remode) {
    for await (const e of readEntries(o.manifest)) {
      if (e.type === 'symlink' || !o.filter(e.path) || o.skip.has(e.path)) continue;
      if (e.xattrs === undefined && (e.mode & 0o6000) === 0) continue;
      try {
        fs.chmodSync(path.join(o.root, e.path), e.mode);
      } catch {
        // The mode was set before; a path that refuses it now was reported above.
      }
    }
  }
  return [owner, xattrs].filter((n) => n.count > 0);
}

/** describeNotSet renders a NotSet for a warning line. */
export function describeNotSet(n: NotSet): string {
  return `${n.what} not restored on ${counted(n.count, 'path')}, e.g. ${n.examples.join('; ')}`;
}

