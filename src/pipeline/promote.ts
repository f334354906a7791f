/**
 * pipeline/promote: promotion of a complete set to monthly or yearly (core/promotion decides
 * which), by hand (`strata promote`) or after a config-driven backup (the months that creation
 * could not decide).
 *
 * A promotion rewrites everything that records the set's tier, in this order:
 *  1. a marker `<id>/<id>.promoting` (this job and machine; the next run knows a promotion was cut);
 *  2. when the new tier's table asks more PAR2 recovery data for the set's size: its volumes only
 *     are read back (in place on a local destination, downloaded otherwise, checked against their
 *     recorded SHA-256), par2 makes further recovery blocks per unit with the same block size and a
 *     first block after the existing ones (`<unit>.f<first>.par2`, `…vol…`; stock `par2 repair
 *     <unit>.par2` loads them too), and only those files are uploaded;
 *  3. RESTORE.txt for the new tier;
 *  4. the tags of every object of the set (S3: tier=…; a no-op where the destination keeps none);
 *  5. the new sealed descriptor (tier, promotedFrom, promotedAt, raised protection, the extra
 *     recovery files, RESTORE.txt's hash), over the old one in one atomic put: until it is stored
 *     the old descriptor stands, and the set is the old tier with everything it had;
 *  6. the marker is removed.
 * A run cut before 5 leaves extra files the old descriptor does not list, a RESTORE.txt and tags of
 * the new tier; cut after 5, only the marker. settlePromotions, run before any promotion, makes a
 * marked set agree with the descriptor that stands: the extra recovery files it does not list go
 * (only names a promotion makes: core/promotion isExtraRecoveryName), RESTORE.txt is written again
 * from it, the tags follow its tier, the marker goes. The automatic pass then promotes again what
 * the rule still asks for (redone); a cut manual promotion is rolled back and says so.
 */
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { Readable } from 'node:stream';
import { hostname } from 'node:os';
import * as path from 'node:path';
import type { Backend, BodySource } from '../backend/backend.js';
import { checkDescriptor, sealDescriptor, type Descriptor, type MachineRef, type StoredObject } from '../core/descriptor.js';
import { descriptorIssues } from '../core/descriptor-schema.js';
import { descriptorKey, isSetObjectKey, objectTags, restoreTextKey, setObjectKey } from '../core/keys.js';
import { checkPromotion, isExtraRecoveryName, planPromotions, raiseProtection, type PromotionDecision, type PromotionTier } from '../core/promotion.js';
import type { ProtectionConfig } from '../core/protection/index.js';
import { formatSize } from '../core/size.js';
import { StrataError, errorMessage, isStrataError } from '../errors.js';
import type { ParityEngine } from '../parity/engine.js';
import { hashFile } from '../io/hash.js';
import { Repository, STALE_PENDING_MS } from '../repository/repository.js';
import type { Output } from '../ui/output.js';
import { restoreFileRecord, restoreFileText } from './restore-file.js';

/** fileSource is a BodySource of a local file (the layers keep pipeline/ off backend/local). */
async function fileSource(file: string): Promise<BodySource> {
  const st = await fsp.stat(file);
  return { size: st.size, open: () => createReadStream(file) };
}

/** bufferSource is a BodySource of bytes in memory. */
function bufferSource(data: string): BodySource {
  const buf = Buffer.from(data, 'utf8');
  return { size: buf.length, open: () => Readable.from([buf]) };
}

/** PromoteContext is what a promotion needs besides the set. */
export interface PromoteContext {
  backend: Backend;
  password: string;
  parity: ParityEngine;
  protection: ProtectionConfig;
  /** A scratch folder of the job's state (volumes are read back under it, then removed). */
  workDir: string;
  job: string;
  machine: MachineRef;
  now: Date;
  out: Output;
  signal: AbortSignal;
}

/** PromoteOutcome is what one promotion did. */
export interface PromoteOutcome {
  id: string;
  from: string;
  to: PromotionTier;
  reason: string;
  /** Recovery data added (bytes; 0: the old protection already met the new tier's table). */
  addedRecoveryBytes: number;
  addedFiles: string[];
  /** Objects whose tags were replaced (0 where the destination keeps no tags). */
  retagged: number;
  redundancyPercent: number | null;
  /** Why the protection was not raised although the new tier asks more (volumes in an archive class). */
  note?: string;
}

/** isArchivedError tells a read refused because the object sits in an archive storage class (S3 InvalidObjectState). */
export function isArchivedError(e: unknown): boolean {
  return isStrataError(e, 'ARCHIVED') || (isStrataError(e) && /InvalidObjectState|ObjectNotInActiveTier/.test(e.message));
}

/** promotingKey is the marker of a promotion in progress: `<id>/<id>.promoting` (a set object by name). */
export function promotingKey(id: string): string {
  return setObjectKey(id, `${id}.promoting`);
}

/** tagsOf are the tags of the set's object `key` (its kind decides whether lifecycle rules may archive it). */
function tagsOf(d: Pick<Descriptor, 'tier' | 'type' | 'id'>, key: string): Record<string, string> {
  return objectTags(d, key);
}

/** objectKeysOf lists every key of a set the descriptor accounts for (volumes, manifest, recovery, RESTORE.txt, descriptor). */
function objectKeysOf(d: Descriptor): string[] {
  return [...d.volumes, d.manifest, ...d.recovery].map((o) => setObjectKey(d.id, o.name)).concat(restoreTextKey(d.id), descriptorKey(d.id));
}

async function retagAll(backend: Backend, d: Descriptor, signal: AbortSignal): Promise<number> {
  if (backend.retag === undefined) return 0;
  let n = 0;
  for (const key of objectKeysOf(d)) {
    if (key === descriptorKey(d.id)) continue; // the descriptor is tagged by its own put
    if (signal.aborted) throw new StrataError('CANCELLED', 'promotion cancelled');
    if (await backend.retag(key, tagsOf(d, key), signal)) n++;
  }
  return n;
}

/** checkSealed refuses a set whose descriptor this password does not open, or that was edited. */
function checkSealed(d: Descriptor, password: string): void {
  const c = checkDescriptor(d, password);
  if (c === 'wrong-password') throw new StrataError('WRONG_PASSWORD', `the password does not open set ${d.id}`, { hint: 'Use the password the sets of this destination were made with.' });
  if (c === 'tampered') throw new StrataError('TAMPERED', `the descriptor of ${d.id} was changed after it was sealed; not promoting it`, { hint: 'strata verify --set ' + d.id + ' tells more.' });
}

/**
 * readVolumes makes every volume of the set available as a file in `dir`: a link to the stored
 * file on a local destination, a download elsewhere; each is checked against its recorded size and
 * SHA-256 first, so that new recovery data never encodes damaged bytes.
 */
async function readVolumes(ctx: PromoteContext, repo: Repository, d: Descriptor, dir: string): Promise<void> {
  for (const v of d.volumes) {
    if (ctx.signal.aborted) throw new StrataError('CANCELLED', 'promotion cancelled');
    const key = setObjectKey(d.id, v.name);
    const file = path.join(dir, v.name);
    const local = ctx.backend.localPath?.(key);
    if (local !== undefined) {
      const got = await hashFile(local);
      if (got.size !== v.size || got.sha256 !== v.sha256) {
        throw new StrataError('DAMAGED', `${key} does not match its recorded size and SHA-256; not adding recovery data over damaged bytes`, { hint: `Run strata verify --set ${d.id} --repair first, then promote again.` });
      }
      await fsp.symlink(local, file);
    } else {
      await repo.download(key, file, { size: v.size, sha256: v.sha256 });
    }
  }
}

/**
 * promoteSet promotes one complete set to `to`: see the module comment for the order of the
 * writes. The set's descriptor must open with the password. Nothing but the new recovery files,
 * RESTORE.txt and the descriptor is uploaded; tags are replaced in place.
 */
export async function promoteSet(ctx: PromoteContext, d: Descriptor, to: PromotionTier, reason: string): Promise<PromoteOutcome> {
  let raised = d.protection === null ? null : raiseProtection(d.protection, d.id, d.volumes.map((v) => v.size), to, ctx.protection);
  // A set already at `to` whose protection is short of that tier's table (promoted while its
  // volumes sat in an archive class) may be promoted again: that adds the recovery data only.
  const refused = checkPromotion(d, to);
  if (refused !== undefined && !(d.tier === to && raised !== null)) throw new StrataError('USAGE', `cannot promote: ${refused}`, { hint: 'strata list shows each set\'s tier and type.' });
  checkSealed(d, ctx.password);
  const repo = new Repository(ctx.backend);
  const marker = { job: ctx.job, machine: ctx.machine, host: hostname(), pid: process.pid, started: ctx.now.toISOString(), from: d.tier, to };
  await ctx.backend.put(promotingKey(d.id), bufferSource(JSON.stringify(marker)), { overwrite: true });

  const added: StoredObject[] = [];
  const newTags = (name: string): Record<string, string> => objectTags({ tier: to, type: d.type, id: d.id }, name);
  let note: string | undefined;
  if (raised !== null) {
    await fsp.mkdir(ctx.workDir, { recursive: true });
    const dir = await fsp.mkdtemp(path.join(ctx.workDir, `promote-${d.id}-`));
    try {
      ctx.out.info(`${d.id}: reading back ${d.volumes.length === 1 ? 'its volume' : `its ${d.volumes.length} volumes`} to add recovery data for ${to}`);
      let readable = true;
      try {
        await readVolumes(ctx, repo, d, dir);
      } catch (e) {
        // Volumes the provider moved to an archive class (S3 Glacier / Deep Archive: InvalidObjectState)
        // cannot be read without a restore request: the set is promoted by descriptor and tags alone.
        if (!isArchivedError(e)) throw e;
        note = `PAR2 protection not raised: its volumes are in an archive storage class and cannot be read back (${errorMessage(e)}); make them readable (a restore request) and run strata promote again for the recovery data`;
        readable = false;
      }
      if (readable) {
        const names = d.volumes.map((v) => v.name);
        for (const e of raised.extra) {
          const files = await ctx.parity.create(e.unit, dir, names, { signal: ctx.signal, firstBlock: e.firstBlock });
          for (const f of files) {
            const local = path.join(dir, ...f.split('/'));
            const h = await hashFile(local);
            await repo.put(d.id, f, await fileSource(local), { sha256: h.sha256, overwrite: true, tags: newTags(f), signal: ctx.signal });
            added.push({ name: f, size: h.size, sha256: h.sha256 });
          }
        }
      } else {
        raised = null;
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }
  const { check: _c, hmac: _h, ...rest } = d;
  const protection = d.protection === null || raised === null ? d.protection : { ...d.protection, sizeClass: raised.sizeClass, redundancyPercent: raised.redundancyPercent, units: raised.units, guarantees: raised.guarantees };
  // promotedFrom is the tier the set was made with: it stays across a second promotion (weekly → monthly → yearly).
  const promotedFrom = d.promotedFrom ?? d.tier;
  const unsealed: Omit<Descriptor, 'check' | 'hmac'> = { ...rest, tier: to, promotedFrom, promotedAt: ctx.now.toISOString(), protection, recovery: [...d.recovery, ...added] };
  const text = restoreFileText(unsealed);
  unsealed.restoreText = restoreFileRecord(text);
  const next = sealDescriptor(unsealed, ctx.password);
  const issues = descriptorIssues(next);
  if (issues.length > 0) throw new StrataError('INTERNAL', `the promoted descriptor of ${d.id} would not be valid: ${issues.join('; ')}`);

  await repo.put(d.id, 'RESTORE.txt', bufferSource(text), { sha256: unsealed.restoreText.sha256, overwrite: true, tags: newTags('RESTORE.txt'), signal: ctx.signal });
  const retagged = await retagAll(ctx.backend, next, ctx.signal);
  await ctx.backend.put(descriptorKey(d.id), bufferSource(JSON.stringify(next, null, 2) + '\n'), { overwrite: true, tags: newTags(descriptorKey(d.id)), signal: ctx.signal });
  await ctx.backend.delete(promotingKey(d.id));
  const addedRecoveryBytes = added.reduce((s, o) => s + o.size, 0);
  return { id: d.id, from: d.tier, to, reason, addedRecoveryBytes, addedFiles: added.map((o) => o.name), retagged, redundancyPercent: protection?.redundancyPercent ?? null, ...(note === undefined ? {} : { note }) };
}

/** SettleOutcome says what settlePromotions found of one cut promotion. */
export interface SettleOutcome {
  id: string;
  /** The tier of the descriptor that stands. */
  tier: string;
  /** The tier the cut promotion was going to (from its marker; undefined when unreadable). */
  target: string | undefined;
  removed: string[];
}

/**
 * settlePromotions finds the promotions of `sets` (this job's own complete sets) that a killed run
 * left unfinished (their `.promoting` marker) and makes each set agree with the descriptor that
 * stands: see the module comment. Markers of sets not in `sets` are left alone.
 */
export async function settlePromotions(ctx: PromoteContext, sets: readonly Descriptor[]): Promise<SettleOutcome[]> {
  const byId = new Map(sets.map((d) => [d.id, d]));
  const keysOf = new Map<string, string[]>();
  const marked: string[] = [];
  for await (const o of ctx.backend.list('')) {
    const id = o.key.slice(0, Math.max(0, o.key.indexOf('/')));
    if (!byId.has(id)) continue;
    let keys = keysOf.get(id);
    if (keys === undefined) keysOf.set(id, (keys = []));
    keys.push(o.key);
    if (o.key === promotingKey(id)) marked.push(id);
  }
  const out: SettleOutcome[] = [];
  const repo = new Repository(ctx.backend);
  for (const id of marked.sort()) {
    const d = byId.get(id);
    if (d === undefined) continue;
    let target: string | undefined;
    try {
      const raw = JSON.parse((await repo.readSmall(promotingKey(id), 64 << 10)).toString('utf8')) as { to?: unknown; machine?: { id?: unknown }; started?: unknown };
      if (typeof raw.to === 'string') target = raw.to;
      // Another machine's promotion of this set may still be running: left to it for a day.
      const other = typeof raw.machine?.id === 'string' && raw.machine.id !== ctx.machine.id;
      const recent = typeof raw.started === 'string' && ctx.now.getTime() - Date.parse(raw.started) < STALE_PENDING_MS;
      if (other && recent) {
        ctx.out.warn(`${id}: another machine is promoting this set (started ${String(raw.started)}); leaving it alone`);
        continue;
      }
    } catch (e) {
      if (!isStrataError(e, 'NOT_FOUND') && !(e instanceof SyntaxError)) throw e;
    }
    checkSealed(d, ctx.password);
    const listed = new Set(objectKeysOf(d));
    const removed: string[] = [];
    for (const key of keysOf.get(id) ?? []) {
      if (listed.has(key) || !isSetObjectKey(id, key) || !isExtraRecoveryName(key.slice(key.lastIndexOf('/') + 1))) continue;
      await ctx.backend.delete(key);
      removed.push(key.slice(id.length + 1));
    }
    if (d.restoreText !== undefined) {
      const text = restoreFileText(d);
      const rec = restoreFileRecord(text);
      if (rec.sha256 === d.restoreText.sha256) await repo.put(id, 'RESTORE.txt', bufferSource(text), { sha256: rec.sha256, overwrite: true, tags: tagsOf(d, 'RESTORE.txt'), signal: ctx.signal });
      else ctx.out.warn(`${id}: RESTORE.txt could not be written again as its descriptor records it (made by another version); strata verify --set ${id} tells more`);
    }
    await retagAll(ctx.backend, d, ctx.signal);
    await ctx.backend.delete(promotingKey(id));
    out.push({ id, tier: d.tier, target, removed });
  }
  return out;
}

/** AutoPromoteResult is what the automatic pass did. */
export interface AutoPromoteResult {
  settled: SettleOutcome[];
  promoted: PromoteOutcome[];
  failed: { id: string; to: PromotionTier; message: string }[];
}

/**
 * autoPromote settles cut promotions, then promotes what core/promotion planPromotions asks for
 * among `sets` (this job's own complete sets, this machine's): the months that ended without their
 * monthly set (or December without its yearly), and a month that has four weekly sets and no
 * monthly. One set failing does not stop the others; the caller reports the failures.
 */
export async function autoPromote(ctx: PromoteContext, sets: readonly Descriptor[]): Promise<AutoPromoteResult> {
  const settled = await settlePromotions(ctx, sets);
  for (const s of settled) {
    ctx.out.info(`${s.id}: finished an interrupted promotion${s.target !== undefined && s.target !== s.tier ? ` to ${s.target} by rolling it back (the set stands as ${s.tier})` : ''}${s.removed.length > 0 ? `; removed ${s.removed.length} recovery file(s) it had made` : ''}`);
  }
  const byId = new Map(sets.map((d) => [d.id, d]));
  const decisions: PromotionDecision[] = planPromotions(sets, ctx.now);
  const promoted: PromoteOutcome[] = [];
  const failed: AutoPromoteResult['failed'] = [];
  for (const dec of decisions) {
    if (ctx.signal.aborted) throw new StrataError('CANCELLED', 'promotion cancelled');
    const d = byId.get(dec.id);
    if (d === undefined) continue;
    try {
      promoted.push(await promoteSet(ctx, d, dec.to, dec.reason));
    } catch (e) {
      if (isStrataError(e, 'CANCELLED')) throw e;
      failed.push({ id: dec.id, to: dec.to, message: errorMessage(e) });
    }
  }
  return { settled, promoted, failed };
}

/** describePromotion is the one line a person reads about a promotion. */
export function describePromotion(p: PromoteOutcome): string {
  return (
    (p.from === p.to ? `${p.id}: ${p.to} already; recovery data completed for its tier (${p.reason})` : `${p.id}: promoted ${p.from} → ${p.to} (${p.reason})`) +
    (p.note !== undefined ? `; ${p.note}` : p.addedRecoveryBytes > 0 ? `; PAR2 raised to ${p.redundancyPercent ?? 0}% (+${formatSize(p.addedRecoveryBytes)} in ${p.addedFiles.length} recovery file${p.addedFiles.length === 1 ? '' : 's'})` : '; its PAR2 protection already meets the new tier\'s table') +
    (p.retagged > 0 ? `; ${p.retagged} objects retagged` : '')
  );
}
