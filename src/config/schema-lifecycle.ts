/**
 * config/schema-lifecycle: the config sections of the lifecycle — retention (core/retention),
 * schedule.at and notify (ops/notify) — used by config/schema.
 */
import * as z from 'zod';
import { DEFAULT_RETENTION, parseRetention, policyProblems, type RetentionDuration, type RetentionPolicy } from '../core/retention.js';
import { expected, parseSeconds } from './schema-values.js';

/** RetentionConfig is the `retention:` section: each tier's retention, and pruneAfterBackup. */
export interface RetentionConfig {
  tiers: RetentionPolicy;
  /** A backup that succeeded (every set complete, nothing partial) prunes the job's sets after it. */
  pruneAfterBackup: boolean;
  /**
   * `deleteBy: tag` (S3 destinations): prune tags the objects of the sets that may go (expire=yes)
   * instead of deleting them, and the bucket's lifecycle rule by that tag (`strata cloud lifecycle
   * --apply`) deletes them, so backup credentials need no delete permission. Absent: strata deletes.
   */
  deleteBy?: 'tag';
}


// retention: each tier's retention (core/retention parseRetention) and pruneAfterBackup. A value
// is checked on its own line; the rules that relate tiers (core/retention policyProblems) once
// every tier has a value, and reported at the tier they refuse.

function retentionSchema(tier: 'daily' | 'weekly' | 'monthly' | 'yearly') {
  return z
    .union([z.string(), z.number()], expected('a duration such as 30d, 12w, 6m, 5y, or forever'))
    .transform((v, ctx): RetentionDuration => {
      const d = parseRetention(v);
      if (typeof d === 'object' && 'problem' in d) {
        ctx.issues.push({ code: 'custom', input: v, message: d.problem });
        return z.NEVER;
      }
      return d;
    })
    .default(DEFAULT_RETENTION[tier]);
}

export const retentionSectionSchema = z
  .strictObject(
    {
      daily: retentionSchema('daily'),
      weekly: retentionSchema('weekly'),
      monthly: retentionSchema('monthly'),
      yearly: retentionSchema('yearly'),
      pruneAfterBackup: z.boolean(expected('true or false')).default(true),
      deleteBy: z.enum(['strata', 'tag'], expected('strata (prune deletes) or tag (prune tags, the S3 lifecycle rule deletes)')).default('strata'),
    },
    expected('a mapping with daily, weekly, monthly, yearly, pruneAfterBackup and deleteBy'),
  )
  .transform((r, ctx): RetentionConfig => {
    const tiers: RetentionPolicy = { daily: r.daily, weekly: r.weekly, monthly: r.monthly, yearly: r.yearly };
    const problems = policyProblems(tiers);
    for (const p of problems) ctx.issues.push({ code: 'custom', input: r, path: [p.tier], message: p.message });
    if (problems.length > 0) return z.NEVER;
    const out: RetentionConfig = { tiers, pruneAfterBackup: r.pruneAfterBackup };
    if (r.deleteBy === 'tag') out.deleteBy = 'tag';
    return out;
  })
  .prefault({});

// schedule.at and notify: when `strata schedule install` runs the backup, and who hears how runs
// end (ops/notify). Kept together here so the section stays local.

/** NOTIFY_EVENTS are the values of notify.on. */
export const NOTIFY_EVENTS = ['failure', 'partial', 'success'] as const;

/** NOTIFY_TIMEOUT_S is how long a notify command or ping may take when notify.timeout is not set. */
export const NOTIFY_TIMEOUT_S = 10;

/** NotifyConfig is the `notify:` section: a command for chosen outcomes, and/or a healthchecks-style URL. */
export interface NotifyConfig {
  /** Run with sh -c, with the run's summary in STRATA_RUN_* variables. */
  command?: string;
  /** The outcomes the command runs for (a cancelled run is a failure). */
  on: (typeof NOTIFY_EVENTS)[number][];
  /** Pinged at the start (`<url>/start`) and the end (`<url>`, or `<url>/fail`). */
  url?: string;
  timeoutSeconds: number;
}

export const scheduleAtSchema = z
  .string(expected('a time of day such as "02:30"'))
  .regex(/^([01]?\d|2[0-3]):([0-5]\d)$/, { error: 'must be a time of day HH:MM on a 24-hour clock, such as "02:30"' })
  .transform((v) => v.padStart(5, '0'));

const notifyEventError = expected(`a list of ${NOTIFY_EVENTS.join(', ')}`);
export const notifySchema = z
  .strictObject(
    {
      command: z.string(expected('a shell command')).min(1, { error: 'must not be empty' }).optional(),
      on: z.array(z.enum(NOTIFY_EVENTS, notifyEventError), notifyEventError).default(['failure', 'partial']),
      url: z
        .string(expected('an http(s) URL'))
        .refine((u) => /^https?:\/\/[^\s]+$/.test(u) && URL.canParse(u), { error: 'must be an http:// or https:// URL' })
        .optional(),
      timeout: z
        .union([z.number(), z.string()], expected('a duration such as 10s'))
        .refine((t) => parseSeconds(t) !== undefined, { error: 'must be a duration from 1 second to 24 hours, such as 10s' })
        .optional(),
    },
    expected('a mapping with command, on, url and timeout'),
  )
  .superRefine((v, ctx) => {
    if (v.command === undefined && v.url === undefined) ctx.addIssue({ code: 'custom', message: 'give a command, a url, or both' });
  })
  .transform((v): NotifyConfig => {
    const n: NotifyConfig = { on: v.on, timeoutSeconds: v.timeout === undefined ? NOTIFY_TIMEOUT_S : (parseSeconds(v.timeout) ?? NOTIFY_TIMEOUT_S) };
    if (v.command !== undefined) n.command = v.command;
    if (v.url !== undefined) n.url = v.url;
    return n;
  });

