/**
 * core/cloud/lifecycle-rules: the S3 lifecycle rules strata sets on a destination bucket
 * (`strata cloud lifecycle`), planned from the job's retention, and the checks every rule set must
 * pass (AWS's transition constraints). Pure: no IO.
 *
 * The rules select by the tags strata puts on every object (tier, type, set, kind):
 * - per tier, transitions of its DATA objects (kind=data: volumes and their recovery files) to
 *   cheaper classes as the design's blog post describes (after 7 days "lower-cost", after 30
 *   "archive", yearly after 180 "deep archive"), corrected where AWS demands it; META objects
 *   (descriptor, manifest and its recovery files, RESTORE.txt) always stay in STANDARD, so `list`,
 *   the catalog, INCR planning, prune and promotion never need an archived object;
 * - per tier, an age-only expiry as a safety net, later than strata's own retention (a set a kept
 *   INCR needs may outlive its tier's retention by a daily chain);
 * - by the expiry tag (EXPIRE_TAG): the sets strata's retention planner decided may go, when the
 *   job deletes by tag (retention.deleteBy: tag);
 * - bucket-wide: incomplete multipart uploads aborted, noncurrent versions expired, expired delete
 *   markers removed.
 *
 * The structure follows S3's LifecycleConfiguration (PutBucketLifecycleConfiguration and the
 * CloudFormation LifecycleConfiguration use the same names), so a rule can be sent as it is.
 */
import { maxDays, minDays, type RetentionDuration, type RetentionPolicy } from '../retention.js';
import type { Tier } from '../naming.js';

/** StorageClass is a class a lifecycle rule may move objects to (S3's TransitionStorageClass). */
export type StorageClass = 'STANDARD_IA' | 'ONEZONE_IA' | 'INTELLIGENT_TIERING' | 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';

/** STORAGE_CLASSES are the transition classes, in AWS's "waterfall" order: a transition only goes down this list. */
export const STORAGE_CLASSES: readonly StorageClass[] = ['STANDARD_IA', 'INTELLIGENT_TIERING', 'ONEZONE_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];

/** MIN_STORAGE_DAYS is each class's minimum storage duration: an object removed or moved on earlier is charged for the rest. */
export const MIN_STORAGE_DAYS: Record<StorageClass, number> = {
  STANDARD_IA: 30,
  ONEZONE_IA: 30,
  INTELLIGENT_TIERING: 0,
  GLACIER_IR: 90,
  GLACIER: 90,
  DEEP_ARCHIVE: 180,
};

/** MIN_TRANSITION_DAYS is the earliest day S3 accepts a transition into a class (IA classes: 30 days after creation). */
export const MIN_TRANSITION_DAYS: Record<StorageClass, number> = {
  STANDARD_IA: 30,
  ONEZONE_IA: 30,
  INTELLIGENT_TIERING: 0,
  GLACIER_IR: 0,
  GLACIER: 0,
  DEEP_ARCHIVE: 0,
};

/** CLASS_COST words what each class costs beyond storage (AWS's pricing model, not prices). */
export const CLASS_COST: Record<StorageClass, string> = {
  STANDARD_IA: 'per-GB retrieval fee; billed for at least 30 days and 128 KB per object',
  ONEZONE_IA: 'one availability zone only; per-GB retrieval fee; billed for at least 30 days and 128 KB per object',
  INTELLIGENT_TIERING: 'no retrieval fee and no minimum duration, but a monthly monitoring fee per object; objects under 128 KB are not moved by lifecycle rules',
  GLACIER_IR: 'millisecond reads with a per-GB retrieval fee; billed for at least 90 days and 128 KB per object',
  GLACIER: 'reads need a restore first (minutes to hours, per-GB and per-request fees); billed for at least 90 days',
  DEEP_ARCHIVE: 'reads need a restore first (12 to 48 hours, per-GB and per-request fees); billed for at least 180 days',
};

/** S3Tag is one tag of a filter. */
export interface S3Tag {
  Key: string;
  Value: string;
}

/** LifecycleFilter selects a rule's objects: by prefix, or by prefix and tags (S3's And). */
export type LifecycleFilter = { Prefix: string } | { And: { Prefix?: string; Tags: S3Tag[] } };

/** LifecycleTransition moves objects to a class `Days` days after their creation. */
export interface LifecycleTransition {
  Days: number;
  StorageClass: StorageClass;
}

/** LifecycleRule is one rule of S3's LifecycleConfiguration. */
export interface LifecycleRule {
  ID: string;
  Status: 'Enabled' | 'Disabled';
  Filter: LifecycleFilter;
  Transitions?: LifecycleTransition[];
  Expiration?: { Days: number } | { ExpiredObjectDeleteMarker: true };
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
  NoncurrentVersionExpiration?: { NoncurrentDays: number };
}

/** LifecycleConfiguration is what PutBucketLifecycleConfiguration sets. */
export interface LifecycleConfiguration {
  Rules: LifecycleRule[];
}

/** PlannedRule is a rule with why it is so and what it costs, in plain words. */
export interface PlannedRule {
  rule: LifecycleRule;
  reason: string;
  cost: string;
}

/** LifecyclePlan is the planner's answer: the rules, with notes on what was corrected. */
export interface LifecyclePlan {
  rules: PlannedRule[];
  /** Corrections of the post's transitions that AWS's rules forced, in words. */
  corrections: string[];
}

/** The tag keys and values strata's rules select by. */
export const TIER_TAG = 'tier';
export const KIND_TAG = 'kind';
export const KIND_DATA = 'data';
export const KIND_META = 'meta';
/** EXPIRE_TAG marks an object of a set strata's retention planner decided may go (retention.deleteBy: tag). */
export const EXPIRE_TAG: S3Tag = { Key: 'expire', Value: 'yes' };

/** Step is a transition the blog post asks for: "lower-cost", "archive" or "deep archive" storage after `days`. */
export interface Step {
  days: number;
  kind: 'lower' | 'archive' | 'deep';
}

/** POST_STEPS are the blog post's transitions per tier (daily sets only expire). */
export const POST_STEPS: Record<Tier, Step[]> = {
  daily: [],
  weekly: [
    { days: 7, kind: 'lower' },
    { days: 30, kind: 'archive' },
  ],
  monthly: [
    { days: 7, kind: 'lower' },
    { days: 30, kind: 'archive' },
  ],
  yearly: [
    { days: 7, kind: 'lower' },
    { days: 30, kind: 'archive' },
    { days: 180, kind: 'deep' },
  ],
};

/** ABORT_MULTIPART_DAYS: an upload left unfinished this long is aborted (strata's own uploads take minutes). */
export const ABORT_MULTIPART_DAYS = 3;
/** NONCURRENT_DAYS: a replaced or deleted object's old version is kept this long (a window to undo a mistake). */
export const NONCURRENT_DAYS = 30;
/** EXPIRE_TAG_DAYS: an object tagged for expiry goes at the provider's next lifecycle run (S3 counts from its creation, so any tagged set is older). */
export const EXPIRE_TAG_DAYS = 1;
/** SAFETY_MARGIN_DAYS is added to the age-only expiry beyond what strata's retention can keep a set. */
export const SAFETY_MARGIN_DAYS = 30;
/** DAILY_CHAIN_DAYS: a FULL set's INCRs are made within the week after it (the next weekly FULL starts a new chain). */
const DAILY_CHAIN_DAYS = 7;

/** LifecycleInput is what the rules are planned from. */
export interface LifecycleInput {
  retention: RetentionPolicy;
  /** The destination's prefix in the bucket ('' or ending in '/'): rules never reach other objects. */
  prefix: string;
  /** The job deletes by tag (retention.deleteBy: tag): add the rule that removes tagged sets. */
  deleteByTag: boolean;
  /** Test-only: replaces the post's transition days (a lifecycle day lasts seconds on a test server). */
  steps?: Partial<Record<Tier, Step[]>>;
}

const TIERS: readonly Tier[] = ['daily', 'weekly', 'monthly', 'yearly'];

/** safetyExpiryDays is the age-only expiry of a tier: later than any set of it can be kept by retention and the chain rule; null: forever. */
export function safetyExpiryDays(retention: RetentionPolicy, tier: Tier): number | null {
  const own = retention[tier];
  if (own === 'forever') return null;
  // A FULL set is needed by the INCRs made within a week after it, each kept for retention.daily.
  const chain = tier === 'daily' ? 0 : DAILY_CHAIN_DAYS + maxDays(retention.daily);
  return Math.max(maxDays(own), chain) + SAFETY_MARGIN_DAYS;
}

/** lifetimeDays is how long strata's retention keeps a tier's set at the least (its data may go then). */
function lifetimeDays(d: RetentionDuration): number {
  return minDays(d);
}

/**
 * chooseClasses turns the post's steps into transitions that keep AWS's rules for data kept at
 * least `lifetime` days: a 7-day step goes to GLACIER_IR when the object stays there its 90 days,
 * else to INTELLIGENT_TIERING (no minimum duration, IA classes are refused before day 30); an
 * archive step is dropped when its class's minimum duration would not be reached before the next
 * step or the end of the set's life (an early-deletion charge for nothing saved).
 */
function chooseClasses(steps: readonly Step[], lifetime: number, tier: Tier, corrections: string[]): LifecycleTransition[] {
  const out: LifecycleTransition[] = [];
  const kept = [...steps].sort((a, b) => a.days - b.days);
  for (let i = 0; i < kept.length; i++) {
    const step = kept[i];
    if (step === undefined) continue;
    const nextDays = kept.slice(i + 1).map((s) => s.days)[0] ?? lifetime;
    const room = Math.min(nextDays, lifetime) - step.days;
    if (step.days >= lifetime) {
      corrections.push(`${tier}: the ${step.kind} step at day ${step.days} is dropped: the sets go at day ${lifetime}`);
      continue;
    }
    let cls: StorageClass;
    if (step.kind === 'lower') {
      if (step.days >= MIN_TRANSITION_DAYS.STANDARD_IA && room >= MIN_STORAGE_DAYS.STANDARD_IA) cls = 'STANDARD_IA';
      else if (room >= MIN_STORAGE_DAYS.GLACIER_IR) cls = 'GLACIER_IR';
      else {
        cls = 'INTELLIGENT_TIERING';
        if (step.days < MIN_TRANSITION_DAYS.STANDARD_IA) corrections.push(`${tier}: day ${step.days} "lower-cost" is INTELLIGENT_TIERING, not STANDARD_IA (S3 refuses IA before day 30) nor GLACIER_IR (its 90-day minimum would not be reached by day ${Math.min(nextDays, lifetime)})`);
      }
    } else {
      cls = step.kind === 'archive' ? 'GLACIER' : 'DEEP_ARCHIVE';
      if (room < MIN_STORAGE_DAYS[cls]) {
        corrections.push(`${tier}: the ${step.kind} step (${cls}) at day ${step.days} is dropped: its ${MIN_STORAGE_DAYS[cls]}-day minimum would not be reached by day ${Math.min(nextDays, lifetime)} (early-deletion charge)`);
        continue;
      }
    }
    const prev = out[out.length - 1];
    if (prev !== undefined && step.days - prev.Days < MIN_STORAGE_DAYS[prev.StorageClass]) {
      corrections.push(`${tier}: the ${step.kind} step at day ${step.days} is dropped: ${prev.StorageClass} from day ${prev.Days} keeps objects at least ${MIN_STORAGE_DAYS[prev.StorageClass]} days`);
      continue;
    }
    out.push({ Days: step.days, StorageClass: cls });
  }
  return out;
}

/** tagFilter selects the objects under `prefix` carrying every tag. */
function tagFilter(prefix: string, tags: S3Tag[]): LifecycleFilter {
  return prefix === '' ? { And: { Tags: tags } } : { And: { Prefix: prefix, Tags: tags } };
}

/** planLifecycle plans the rules of a destination bucket from a job's retention. */
export function planLifecycle(input: LifecycleInput): LifecyclePlan {
  const rules: PlannedRule[] = [];
  const corrections: string[] = [];
  for (const tier of TIERS) {
    const retention = input.retention[tier];
    const lifetime = retention === 'forever' ? Infinity : lifetimeDays(retention);
    const steps = input.steps?.[tier] ?? POST_STEPS[tier];
    const transitions = chooseClasses(steps, lifetime, tier, corrections);
    if (transitions.length > 0) {
      rules.push({
        rule: { ID: `strata-${tier}-data-transitions`, Status: 'Enabled', Filter: tagFilter(input.prefix, [{ Key: TIER_TAG, Value: tier }, { Key: KIND_TAG, Value: KIND_DATA }]), Transitions: transitions },
        reason: `${tier} sets' data objects (volumes, recovery files) move ${transitions.map((t) => `to ${t.StorageClass} after ${t.Days} days`).join(', then ')}; their descriptor, manifest and RESTORE.txt stay in STANDARD (kind=meta), so list, prune and INCR planning never read an archived object`,
        cost: transitions.map((t) => `${t.StorageClass}: ${CLASS_COST[t.StorageClass]}`).join('; '),
      });
    }
    const expiry = safetyExpiryDays(input.retention, tier);
    if (expiry !== null) {
      const last = transitions[transitions.length - 1];
      const days = last === undefined ? expiry : Math.max(expiry, last.Days + MIN_STORAGE_DAYS[last.StorageClass]);
      rules.push({
        rule: { ID: `strata-${tier}-safety-expiry`, Status: 'Enabled', Filter: tagFilter(input.prefix, [{ Key: TIER_TAG, Value: tier }]), Expiration: { Days: days } },
        reason: `safety net: any object of a ${tier} set older than ${days} days is deleted — later than strata's retention (${retention === 'forever' ? 'forever' : `${retention.n}${retention.unit}`}) plus a daily chain and a ${SAFETY_MARGIN_DAYS}-day margin; if backups stop for that long, even the newest ${tier} set goes`,
        cost: last === undefined ? 'none: objects are in STANDARD' : MIN_STORAGE_DAYS[last.StorageClass] === 0 ? `none: ${last.StorageClass} has no minimum duration` : `none beyond the storage: ${last.StorageClass}'s ${MIN_STORAGE_DAYS[last.StorageClass]}-day minimum is reached first`,
      });
    }
  }
  if (input.deleteByTag) {
    rules.push({
      rule: { ID: 'strata-expire-by-tag', Status: 'Enabled', Filter: tagFilter(input.prefix, [EXPIRE_TAG]), Expiration: { Days: EXPIRE_TAG_DAYS } },
      reason: `deletes the objects strata's prune tagged ${EXPIRE_TAG.Key}=${EXPIRE_TAG.Value} (sets its retention planner decided may go, never one a kept set needs): backup credentials need no delete permission`,
      cost: 'an archived object deleted before its class minimum is charged for the rest (the planner only archives data that strata keeps past that minimum)',
    });
  }
  const all = input.prefix === '' ? { Prefix: '' } : { Prefix: input.prefix };
  rules.push({
    rule: { ID: 'strata-abort-multipart', Status: 'Enabled', Filter: all, AbortIncompleteMultipartUpload: { DaysAfterInitiation: ABORT_MULTIPART_DAYS } },
    reason: `an upload interrupted midway (a killed run) leaves invisible parts; S3 aborts them after ${ABORT_MULTIPART_DAYS} days`,
    cost: 'saves the storage of the parts, which are billed while they exist',
  });
  rules.push({
    rule: { ID: 'strata-noncurrent-expiry', Status: 'Enabled', Filter: all, NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_DAYS } },
    reason: `on a versioned bucket, a deleted or replaced object's old version stays ${NONCURRENT_DAYS} days (time to undo a mistake or an attack), then goes`,
    cost: `old versions are billed like current ones for ${NONCURRENT_DAYS} days`,
  });
  rules.push({
    rule: { ID: 'strata-delete-markers', Status: 'Enabled', Filter: all, Expiration: { ExpiredObjectDeleteMarker: true } },
    reason: 'removes delete markers that no longer hide any version (they would slow listings)',
    cost: 'none',
  });
  return { rules, corrections };
}

/** RuleProblem is one broken constraint of a rule set. */
export interface RuleProblem {
  rule: string;
  message: string;
}

function filterTags(f: LifecycleFilter): S3Tag[] {
  return 'And' in f ? f.And.Tags : [];
}

/**
 * validateLifecycle checks a rule set against S3's rules and AWS's transition constraints:
 * unique IDs of at most 255 characters, at most 1000 rules; transitions in increasing days and
 * down the class waterfall; no STANDARD_IA / ONEZONE_IA before day 30; each class's minimum
 * storage duration before the next transition and before the rule's expiry; expiry after the last
 * transition; AbortIncompleteMultipartUpload and ExpiredObjectDeleteMarker never with a tag filter;
 * every rule doing something. An empty list: the rules are sound.
 */
export function validateLifecycle(config: LifecycleConfiguration): RuleProblem[] {
  const out: RuleProblem[] = [];
  if (config.Rules.length === 0) out.push({ rule: '', message: 'a lifecycle configuration needs at least one rule' });
  if (config.Rules.length > 1000) out.push({ rule: '', message: `${config.Rules.length} rules: S3 accepts at most 1000` });
  const seen = new Set<string>();
  for (const r of config.Rules) {
    const bad = (message: string): void => void out.push({ rule: r.ID, message });
    if (r.ID === '' || r.ID.length > 255) bad('an ID has 1 to 255 characters');
    if (seen.has(r.ID)) bad('two rules have this ID');
    seen.add(r.ID);
    const tags = filterTags(r.Filter);
    const keys = new Set(tags.map((t) => t.Key));
    if (keys.size !== tags.length) bad('a filter names a tag key twice');
    const ts = r.Transitions ?? [];
    if (ts.length === 0 && r.Expiration === undefined && r.AbortIncompleteMultipartUpload === undefined && r.NoncurrentVersionExpiration === undefined) bad('the rule does nothing');
    for (let i = 0; i < ts.length; i++) {
      const t = ts[i];
      if (t === undefined) continue;
      if (!Number.isInteger(t.Days) || t.Days < 0) bad(`transition to ${t.StorageClass}: Days must be a whole number from 0, got ${t.Days}`);
      if (t.Days < MIN_TRANSITION_DAYS[t.StorageClass]) bad(`transition to ${t.StorageClass} at day ${t.Days}: S3 refuses it before day ${MIN_TRANSITION_DAYS[t.StorageClass]}`);
      const next = ts[i + 1];
      if (next !== undefined) {
        if (next.Days <= t.Days) bad(`transitions must be in increasing days: ${t.StorageClass} at ${t.Days}, then ${next.StorageClass} at ${next.Days}`);
        if (STORAGE_CLASSES.indexOf(next.StorageClass) <= STORAGE_CLASSES.indexOf(t.StorageClass)) bad(`S3 cannot move objects from ${t.StorageClass} to ${next.StorageClass} (transitions only go ${STORAGE_CLASSES.join(' → ')})`);
        if (next.Days - t.Days < MIN_STORAGE_DAYS[t.StorageClass]) bad(`${t.StorageClass} from day ${t.Days} keeps objects at least ${MIN_STORAGE_DAYS[t.StorageClass]} days, but the next transition is at day ${next.Days} (early-deletion charge)`);
      }
    }
    const exp = r.Expiration;
    if (exp !== undefined && 'Days' in exp) {
      if (!Number.isInteger(exp.Days) || exp.Days < 1) bad(`Expiration Days must be a whole number from 1, got ${exp.Days}`);
      const last = ts[ts.length - 1];
      if (last !== undefined) {
        if (exp.Days <= last.Days) bad(`the expiry (day ${exp.Days}) must come after the last transition (day ${last.Days})`);
        else if (exp.Days - last.Days < MIN_STORAGE_DAYS[last.StorageClass]) bad(`${last.StorageClass} from day ${last.Days} keeps objects at least ${MIN_STORAGE_DAYS[last.StorageClass]} days, but they expire at day ${exp.Days} (early-deletion charge)`);
      }
    }
    if (exp !== undefined && 'ExpiredObjectDeleteMarker' in exp && tags.length > 0) bad('ExpiredObjectDeleteMarker cannot be used with a tag filter');
    if (r.AbortIncompleteMultipartUpload !== undefined) {
      if (tags.length > 0) bad('AbortIncompleteMultipartUpload cannot be used with a tag filter (uploads in progress have no tags)');
      if (!Number.isInteger(r.AbortIncompleteMultipartUpload.DaysAfterInitiation) || r.AbortIncompleteMultipartUpload.DaysAfterInitiation < 1) bad('DaysAfterInitiation must be a whole number from 1');
    }
    if (r.NoncurrentVersionExpiration !== undefined && (!Number.isInteger(r.NoncurrentVersionExpiration.NoncurrentDays) || r.NoncurrentVersionExpiration.NoncurrentDays < 1)) bad('NoncurrentDays must be a whole number from 1');
  }
  return out;
}

/** configurationOf is the LifecycleConfiguration of a plan, as PutBucketLifecycleConfiguration takes it. */
export function configurationOf(plan: LifecyclePlan): LifecycleConfiguration {
  return { Rules: plan.rules.map((p) => p.rule) };
}

/** formatLifecycle renders a plan for `strata cloud lifecycle`: one block per rule, then the corrections. */
export function formatLifecycle(plan: LifecyclePlan): string[] {
  const lines: string[] = [];
  for (const p of plan.rules) {
    const r = p.rule;
    const what: string[] = [];
    for (const t of r.Transitions ?? []) what.push(`day ${t.Days} → ${t.StorageClass}`);
    if (r.Expiration !== undefined) what.push('Days' in r.Expiration ? `day ${r.Expiration.Days} → delete` : 'remove expired delete markers');
    if (r.AbortIncompleteMultipartUpload !== undefined) what.push(`abort unfinished uploads after ${r.AbortIncompleteMultipartUpload.DaysAfterInitiation} days`);
    if (r.NoncurrentVersionExpiration !== undefined) what.push(`delete old versions ${r.NoncurrentVersionExpiration.NoncurrentDays} days after they are replaced`);
    const tags = filterTags(r.Filter);
    const prefix = 'Prefix' in r.Filter ? r.Filter.Prefix : (r.Filter.And.Prefix ?? '');
    const sel = [prefix === '' ? '' : `prefix ${prefix}`, ...tags.map((t) => `${t.Key}=${t.Value}`)].filter((s) => s !== '').join(', ');
    lines.push(`${r.ID}  [${sel === '' ? 'every object' : sel}]`);
    lines.push(`  ${what.join('; ')}`);
    lines.push(`  why:  ${p.reason}`);
    lines.push(`  cost: ${p.cost}`);
  }
  if (plan.corrections.length > 0) {
    lines.push('Changed from the post\'s transitions (AWS rules):');
    for (const c of plan.corrections) lines.push(`  ${c}`);
  }
  return lines;
}
