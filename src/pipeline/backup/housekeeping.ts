/**
 * pipeline/backup/housekeeping: cleaning up after interrupted runs, before a run writes anything.
 * Under the job lock, whatever still runs in the staging folder belongs to a dead run (orphan
 * processes are stopped); local staging is emptied except what a resume journal names; on the
 * destination, this job's unfinished sets are resumed (candidates) or removed, and `.pending`
 * markers left in complete sets are cleared. Only what strata can prove is this job's is touched.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isMachineRef, type Descriptor } from '../../core/descriptor.js';
import { counted } from '../../core/words.js';
import { errnoCode } from '../../errors.js';
import { reapOrphans } from '../../exec/orphans.js';
import { Repository, type Catalog } from '../../repository/repository.js';
import type { Output } from '../../ui/output.js';
import { Journal, journalFile, setStaging, type ResumeCandidate } from './journal.js';
import type { BackupRequest } from './types.js';

/**
 * prepareStaging stops processes a killed run left in the staging folder (a 7-Zip paused by a run
 * that died stays stopped forever, holding its files) and empties the folder except for the
 * resume journals that load, and their sets' files; it returns those journals by set id. A folder
 * with anything in it waits for `passwordChecked` first: a journal that does not load under a
 * wrong password is not debris.
 */
export async function prepareStaging(staging: string, password: string, out: Output, passwordChecked: () => Promise<unknown>): Promise<Map<string, Journal>> {
  for (const o of await reapOrphans(staging)) out.warn(`stopped ${o.command} (pid ${o.pid}), left running by an interrupted backup`);
  const names = await fsp.readdir(staging).catch((e: unknown) => {
    if (errnoCode(e) === 'ENOENT') return [];
    throw e;
  });
  if (names.length === 0) return new Map();
  await passwordChecked();
  return keepResumable(staging, names, password, out);
}

/**
 * keepResumable loads the staging folder's resume journals and removes everything else there (`names`)
 * (debris of crashed runs, as before resumes existed). A journal that does not load — torn,
 * altered, another password — is removed with its files: only a sealed journal is trusted.
 */
async function keepResumable(staging: string, names: readonly string[], password: string, out: Output): Promise<Map<string, Journal>> {
  const journals = new Map<string, Journal>();
  for (const file of await Journal.list(staging)) {
    const j = await Journal.load(file, password);
    if (j instanceof Journal) journals.set(j.body.setId, j);
    else out.info(`ignoring the resume journal ${path.basename(file)}: ${j.invalid}`);
  }
  const keep = new Set<string>();
  for (const id of journals.keys()) keep.add(id).add(path.basename(journalFile(staging, id)));
  for (const n of names) if (!keep.has(n)) await fsp.rm(path.join(staging, n), { recursive: true, force: true });
  return journals;
}

/** discardLocal removes a journal and the local files it names. */
export async function discardLocal(staging: string, journal: Journal): Promise<void> {
  await journal.remove();
  const local = setStaging(staging, journal.body.setId);
  await fsp.rm(local.setDir, { recursive: true, force: true });
  await fsp.rm(local.work, { recursive: true, force: true });
}

/** Sweep is what the sweep of the destination found: sets to resume (by source name) and sets it removed. */
export interface Sweep {
  candidates: Map<string, ResumeCandidate>;
  removedDebris: string[];
}

/**
 * sweepDestination handles the unfinished sets on the destination. This job's debris — a set name,
 * a readable `.pending` marker naming this job, its writer gone — is resumed when this machine wrote
 * it, a sealed journal names it and its source is still configured; else removed. Nothing is
 * removed before the password is checked. Another machine's unfinished set is that machine's to
 * resume or remove, never this one's. Journals without a set to resume are discarded, and markers
 * left in complete sets of this job (killed after the descriptor) are cleared.
 */
export async function sweepDestination(req: BackupRequest, repo: Repository, catalog: Catalog, journals: Map<string, Journal>, staging: string, now: Date, checkPassword: () => Promise<void>): Promise<Sweep> {
  const { out, machine } = req;
  const job = req.config.job;
  const removedDebris: string[] = [];
  const candidates = new Map<string, ResumeCandidate>();
  const sourceNames = new Set(req.config.sources.map((s) => s.name));
  const notOther = (pending: Catalog['incomplete'][number]['pending']): boolean => Repository.markerOwner(pending, machine) !== 'other';
  const debris = catalog.incomplete.filter((inc) => notOther(inc.pending) && Repository.isDebris(inc.pending, now, job));
  const leftovers = catalog.leftoverPending.filter((l) => notOther(l.pending) && leftoverGone(l, catalog.complete, now, job));
  if (debris.length > 0 || leftovers.length > 0) await checkPassword();
  for (const inc of catalog.incomplete) {
    if (!debris.includes(inc)) {
      const m = inc.pending?.machine;
      if (!notOther(inc.pending)) out.info(`set ${inc.id} is an unfinished set of another machine (${isMachineRef(m) ? `${m.host}, ${m.id.slice(0, 8)}` : 'unreadable machine'}); leaving it alone`);
      else if (inc.pending?.job === job) out.warn(`set ${inc.id} is being written by another run (${inc.pending.host} pid ${inc.pending.pid}); leaving it alone`);
      else out.verbose(`leaving ${inc.id} alone: ${inc.pending === undefined ? 'no readable marker of a strata run' : `a set of ${inc.pending.job === undefined ? 'an unnamed job' : `job ${inc.pending.job}`}`}`);
      continue;
    }
    // Resumed only when this host wrote it (a dead pid of ours) and the source is still configured.
    const journal = journals.get(inc.id);
    const b = journal?.body;
    if (journal !== undefined && b !== undefined && Repository.markerOwner(inc.pending, machine) === 'this' && b.job === job && sourceNames.has(b.source) && !candidates.has(b.source)) {
      candidates.set(b.source, { journal, keys: inc.keys });
      journals.delete(inc.id);
      continue;
    }
    const kept = await repo.removeSetObjects(inc.id, inc.keys);
    removedDebris.push(inc.id);
    out.info(`removed the unfinished set ${inc.id} left by an interrupted run${kept.length > 0 ? ` (kept ${counted(kept.length, 'file')} in its folder that are not strata's)` : ''}`);
  }
  // Journals left over: their set is complete already (killed before the journal was removed), or
  // its folder on the destination is gone or not ours. Nothing of theirs can be resumed.
  const complete = new Set(catalog.complete.map((d) => d.id));
  for (const [id, journal] of journals) {
    if (!complete.has(id)) out.info(`not resuming the unfinished set ${id}: its folder on ${req.backend.description} is missing or not this machine's`);
    await discardLocal(staging, journal);
  }
  // A set whose run was killed after its descriptor but before its marker was removed: complete,
  // and its marker is only a leftover.
  for (const l of leftovers) await repo.clearPending(l.id);
  return { candidates, removedDebris };
}

/**
 * leftoverGone tells whether the `.pending` marker left in a complete set of `job` may go: its
 * writer is gone. A marker that is torn or names no job belongs to the set's own descriptor's job.
 */
function leftoverGone(l: Catalog['leftoverPending'][number], complete: readonly Descriptor[], now: Date, job: string): boolean {
  if (complete.find((d) => d.id === l.id)?.job !== job) return false;
  if (l.pending === undefined) return true;
  if (l.pending.job !== undefined && l.pending.job !== job) return false;
  return Repository.isDebris({ ...l.pending, job }, now, job);
}
