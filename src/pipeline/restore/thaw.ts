/**
 * pipeline/restore/thaw: before anything is fetched, bring back from archive storage (S3 GLACIER,
 * DEEP_ARCHIVE) the objects a restore or a verify will read. One pass over all of them, up front,
 * so that a restore never extracts half and then stops at an archived volume:
 * - objects readable now (any other class, or a restored copy) need nothing;
 * - an archived object gets one restore request (RestoreObject) at the retrieval tier;
 * - an object whose restore is under way (x-amz-restore ongoing-request="true") is not requested again.
 * If anything is not readable yet, it says how many objects and bytes and how long AWS documents the
 * wait to be, and stops with RESTORE_PENDING ("run the same command again later", exit 75), which
 * is neither damage nor a failure. Only backends with archive storage (S3) are asked at all.
 */
import * as path from 'node:path';
import pLimit from 'p-limit';
import type { Backend, ColdState } from '../../backend/backend.js';
import { RESTORE_DAYS, expectedWait, tierFor, type RetrievalTier } from '../../core/cold.js';
import type { Descriptor } from '../../core/descriptor.js';
import { setObjectKey } from '../../core/keys.js';
import { makePathFilter, type PathFilter } from '../../core/pathfilter.js';
import { restoreChain } from '../../core/restore-choice.js';
import { formatSize } from '../../core/size.js';
import { counted } from '../../core/words.js';
import { StrataError, isStrataError } from '../../errors.js';
import type { Output } from '../../ui/output.js';
import { ensureLocalManifest, isManifestCached, readEntries } from '../manifests.js';
import type { RestoreRequest } from './types.js';

/** ThawItem is one object to be read: its key and size. */
export interface ThawItem {
  key: string;
  size: number;
}

/** ThawOptions say at which tier to ask and what the objects are read for (in messages: "restore", "verify"). */
export interface ThawOptions {
  /** Retrieval tier; omitted: the destination's (retrievalTier=), else Standard. */
  tier?: RetrievalTier | undefined;
  out: Output;
  /** The command to run again, for the message (e.g. "strata restore"). */
  command: string;
  /** Why these objects are read, printed first when a restore is needed (e.g. damaged volumes that PAR2 repair needs recovery files for); also means: something was read already, nothing extracted. */
  reason?: string;
}

interface Pending extends ThawItem {
  storageClass: string;
  tier?: RetrievalTier;
}

/**
 * thawObjects makes sure every object is readable: it requests what is archived, and throws
 * RESTORE_PENDING when anything is not readable yet. Missing objects are left to the caller (the
 * check after fetching reports them as it always does). It returns how many of the objects are in
 * an archive class (all readable by then: restored copies, or a provider that serves them directly).
 */
export async function thawObjects(backend: Backend, items: readonly ThawItem[], opts: ThawOptions): Promise<number> {
  if (backend.archives !== true || backend.coldState === undefined) return 0;
  const coldState = backend.coldState.bind(backend);
  const unique = [...new Map(items.map((i) => [i.key, i])).values()];
  const limit = pLimit(8);
  const states = await Promise.all(
    unique.map((i) =>
      limit(async (): Promise<ColdState | undefined> => {
        try {
          return await coldState(i.key);
        } catch (e) {
          if (isStrataError(e, 'NOT_FOUND')) return undefined;
          throw e;
        }
      }),
    ),
  );
  const requested: Pending[] = [];
  const onTheWay: Pending[] = [];
  let restored = 0;
  let unsupported = 0;
  const expiries: string[] = [];
  await Promise.all(
    unique.map((item, n) =>
      limit(async () => {
        const st = states[n];
        if (st === undefined || st.state === 'hot') return;
        if (st.state === 'restored') {
          restored++;
          if (st.expiry !== undefined) expiries.push(st.expiry);
          return;
        }
        if (st.state === 'restoring' || backend.thaw === undefined) {
          onTheWay.push({ ...item, storageClass: st.storageClass });
          return;
        }
        const r = await backend.thaw(item.key, opts.tier, st.storageClass);
        if (r.outcome === 'unsupported') unsupported++;
        else if (r.outcome === 'restored') restored++;
        else if (r.outcome === 'in-progress') onTheWay.push({ ...item, storageClass: st.storageClass });
        else requested.push({ ...item, storageClass: st.storageClass, tier: r.tier });
      }),
    ),
  );
  if (unsupported > 0) opts.out.verbose(`${counted(unsupported, 'object')} in an archive class, but ${backend.description} offers no restore requests: read directly`);
  if (requested.length === 0 && onTheWay.length === 0) {
    if (restored > 0) {
      const until = expiries.map((e) => Date.parse(e)).filter((t) => !Number.isNaN(t)).sort((a, b) => a - b)[0];
      opts.out.info(`${counted(restored, 'object')} read from restored copies of archive storage${until === undefined ? '' : ` (readable until ${new Date(until).toISOString().slice(0, 16).replace('T', ' ')} UTC)`}`);
    }
    return restored + unsupported;
  }
  const bytes = (l: readonly ThawItem[]): string => formatSize(l.reduce((s, i) => s + i.size, 0), 'short');
  const all = [...requested, ...onTheWay];
  const classes = [...new Set(all.map((p) => p.storageClass))].sort();
  const out = opts.out;
  if (opts.reason !== undefined) out.result(opts.reason);
  out.result(`archive storage: ${counted(all.length, 'object')} (${bytes(all)}) of the ${unique.length} to read ${all.length === 1 ? 'is' : 'are'} in ${classes.join(' and ')}${restored > 0 ? `; ${restored} more already restored` : ''}`);
  if (requested.length > 0) {
    const tiers = [...new Set(requested.map((p) => p.tier ?? 'Standard'))];
    out.result(`  restore requested now: ${counted(requested.length, 'object')} (${bytes(requested)}), retrieval tier ${tiers.join(' and ')}, readable for ${RESTORE_DAYS} days once restored`);
  }
  if (onTheWay.length > 0) out.result(`  already on their way (requested before, not requested again): ${counted(onTheWay.length, 'object')} (${bytes(onTheWay)})`);
  const waits = new Set<string>();
  for (const p of all) {
    const tier = p.tier ?? tierFor(p.storageClass, opts.tier ?? 'Standard');
    waits.add(`${expectedWait(p.storageClass, tier)} (${p.storageClass}, ${tier})`);
  }
  out.result(`  expected wait (AWS's typical times): ${[...waits].join('; ')}`);
  throw new StrataError('RESTORE_PENDING', `${counted(all.length, 'object')} (${bytes(all)}) ${all.length === 1 ? 'is' : 'are'} being restored from archive storage (${requested.length} requested now, ${onTheWay.length} already on their way); ${opts.reason === undefined ? 'nothing was read yet' : 'nothing was extracted yet'}`, {
    hint: `Run ${opts.command} again after the wait: objects already requested are not requested again, and it continues once all are readable.`,
  });
}

/**
 * thawForRestore decides, before anything is fetched, which objects the restore reads and thaws
 * them: per chosen set its manifest, and the volumes of the sets of its chain that hold selected
 * files (as the manifest says). A manifest still in archive storage (metadata normally stays hot)
 * cannot tell which sets hold the files: then every volume of the chain is requested with it, so
 * that one wait suffices. When any of these volumes is in an archive class, it returns the sets
 * whose volumes the restore reads, for restore to fetch and check them all before extracting
 * anything (their recovery files may be archived too); else none.
 */
export async function thawForRestore(req: RestoreRequest, chosen: readonly Descriptor[], complete: readonly Descriptor[], unreadable: readonly { id: string }[]): Promise<Descriptor[]> {
  const backend = req.repo.backend;
  if (backend.archives !== true || backend.coldState === undefined) return [];
  const coldState = backend.coldState.bind(backend);
  const cacheDir = path.join(req.workDir, 'manifests');
  const filter = makePathFilter(req.paths);
  const items: ThawItem[] = [];
  const read = new Map<string, Descriptor>();
  for (const d of chosen) {
    const chain = restoreChain(d, complete, unreadable);
    const key = setObjectKey(d.id, d.manifest.name);
    let holders: Set<string> | undefined;
    let readable = await isManifestCached(cacheDir, d);
    if (!readable) {
      try {
        const st = await coldState(key);
        readable = st.state === 'hot' || st.state === 'restored';
      } catch (e) {
        // A missing manifest is rebuilt from its PAR2 set by ensureLocalManifest (or reported there).
        if (!isStrataError(e, 'NOT_FOUND')) throw e;
        readable = true;
      }
    }
    if (readable) holders = await holdersOf(await ensureLocalManifest(req.repo, d, req.tools.sevenZip, req.password, cacheDir), d, filter);
    else items.push({ key, size: d.manifest.size });
    for (const hd of chain) {
      if (holders !== undefined && !holders.has(hd.id)) continue;
      read.set(hd.id, hd);
      for (const v of hd.volumes) items.push({ key: setObjectKey(hd.id, v.name), size: v.size });
    }
  }
  const cold = await thawObjects(backend, items, { tier: req.retrievalTier, out: req.out, command: 'the same strata restore' });
  return cold > 0 ? [...read.values()] : [];
}

/** holdersOf lists the sets whose volumes hold the files a restore selects (pass 1 of select, without its checks). */
async function holdersOf(manifest: string, d: Descriptor, filter: PathFilter): Promise<Set<string>> {
  const holders = new Set<string>();
  for await (const e of readEntries(manifest)) {
    if (e.type === 'file' && filter(e.path)) holders.add(e.set ?? d.id);
  }
  return holders;
}
