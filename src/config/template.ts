/**
 * config/template: the commented strata.yaml that `strata init` writes. It lists every key with
 * its default (taken from DEFAULTS, so the text cannot drift from the schema), and it loads with
 * loadConfig as written; test/config/init.test.ts checks both.
 */
import { stringify } from 'yaml';
import { defaultRoutePolicy } from '../core/parts.js';
import { defaultProtectionConfig } from '../core/protection/index.js';
import { formatSize } from '../core/size.js';
import { DEFAULTS, NOTIFY_TIMEOUT_S, TIERS, WEEKDAYS } from './schema.js';
import { DEFAULT_RETENTION, MIN_DAILY_DAYS, formatRetention } from '../core/retention.js';

/** TemplateSource is one source to write: an absolute path and its (already unique) name. */
export interface TemplateSource {
  path: string;
  name: string;
}

/** TemplateOptions fills in the template; without sources or destination, placeholders are written. */
export interface TemplateOptions {
  /** The job's name (strata init gives each new job a unique one); default: DEFAULTS.job. */
  job?: string;
  sources?: TemplateSource[];
  destination?: string;
}

/** PLACEHOLDER_SOURCE and PLACEHOLDER_DESTINATION are written when init is not told what to use. */
export const PLACEHOLDER_SOURCE: TemplateSource = { path: '~/Documents', name: 'Documents' };
/** PLACEHOLDER_DESTINATION is the destination written when init gets no --dest. */
export const PLACEHOLDER_DESTINATION = '/mnt/backup/strata';

/** scalar writes a string as a YAML scalar, quoted only when YAML needs it. */
function scalar(s: string): string {
  return stringify(s).trimEnd();
}

/** renderTemplate returns the text of a commented strata.yaml. */
export function renderTemplate(options: TemplateOptions = {}): string {
  const sources = options.sources !== undefined && options.sources.length > 0 ? options.sources : [PLACEHOLDER_SOURCE];
  const editSources = options.sources === undefined || options.sources.length === 0;
  const destination = options.destination ?? PLACEHOLDER_DESTINATION;
  const L: string[] = [];
  const add = (...lines: string[]): void => {
    L.push(...lines);
  };

  add(
    '# strata.yaml: one backup job.',
    '#',
    '# Every key is shown with its default value; a key you leave out gets that default.',
    '# An unknown or misspelt key is an error, so a typo never silently changes what is backed up.',
    '# Relative paths are relative to the folder of this file; "~" is your home folder.',
    '# Sizes: 123 (bytes), 64KiB, 100MiB, 1.5GiB (1024-based) or 100MB, 2GB (1000-based).',
    '',
    '# job: the name of this job (letters, digits, ".", "_", "-"). It keeps the local state of',
    '# several jobs apart when they share a state folder, and every set records it (with this',
    '# machine), so that jobs and machines sharing a destination never mix. strata init makes a',
    '# unique name; keep it once backups exist. Default when left out: ' + DEFAULTS.job,
    `job: ${scalar(options.job ?? DEFAULTS.job)}`,
    '',
    '# sources: the folders to back up (required, at least one). For each:',
    '#   path:    the folder (required).',
    '#   name:    names the sets of this source on the destination: letters, digits, ".", "_", "-";',
    '#            unique within the job. Default: the folder\'s name. Keep it once backups exist.',
    '#   exclude: patterns in .gitignore syntax, relative to path. Default: [] (nothing excluded).',
    '#            For example: exclude: [node_modules/, "*.tmp", .cache/]',
  );
  if (editSources) add('# CHANGE THIS: the folder below is only an example.');
  add('sources:');
  for (const s of sources) {
    add(`  - path: ${scalar(s.path)}`, `    name: ${scalar(s.name)}`, '    exclude: []');
  }
  add(
    '',
    '# destination: where the backup sets go (required). A folder, or a URL:',
    '#   /mnt/nas/backups',
    '#   s3://bucket/prefix?endpoint=https://s3.example.com',
    '#     (options: region=…, pathStyle=true, profile=…, storageClass=CLASS for every object,',
    '#      storageClass.<tier>=CLASS per tier: daily, weekly, monthly or yearly, e.g.',
    '#      storageClass.yearly=DEEP_ARCHIVE; retrievalTier=Expedited|Standard|Bulk for restores',
    '#      from GLACIER/DEEP_ARCHIVE, default Standard)',
    '#   webdav+https://host/path',
    '#   rclone:remote:path',
  );
  if (options.destination === undefined) add('# CHANGE THIS: the destination below is only an example.');
  add(
    `destination: ${scalar(destination)}`,
    '',
    '# destinations: instead of destination:, several named places, the first the primary (backups',
    '# write to it); `strata replicate` copies every complete set the others lack, checked object by',
    '# object. Each takes path:, url: or a block (type: s3 …) as destination: does, and may have its',
    '# own retention: (its keys over the job\'s retention below; prune --from NAME applies it).',
    '#   destinations:',
    '#     - name: nas',
    '#       path: /mnt/nas/strata',
    '#     - name: offsite',
    '#       url: s3://bucket/strata?endpoint=https://s3.example.com',
    '#       retention: { daily: 14d, weekly: 8w }',
    '# replicate: manual (only `strata replicate`) or after-backup (each backup from this file',
    '# replicates its sets after it, and prunes each destination by its retention when',
    '# retention.pruneAfterBackup is on). Default: manual',
    '# replicate: manual',
    '',
    '# password: where the encryption password comes from. strata uses the first of:',
    '#   1. the STRATA_PASSWORD environment variable;',
    '#   2. the file named by STRATA_PASSWORD_FILE (it must be private: chmod 600);',
    '#   3. this block, with exactly one of:',
    '#        command: pass show backup        # run with sh -c; the first line it prints',
    '#        timeout: 60s                     # (with command) how long it may run. Default: 60s',
    '#          The command gets no input; its error output is shown; a failure or a timeout',
    '#          ends the run with exit 12.',
    '#        file: ~/.config/strata/password  # its first line; the file must be chmod 600',
    '#        env: BACKUP_PASSWORD             # another environment variable',
    '#   4. a prompt on the terminal.',
    '# Default: no block (1, 2 and 4 only). For example:',
    '# password:',
    '#   command: pass show backup',
    '',
    '# archive: 7-Zip settings for each tier (daily, weekly, monthly, yearly).',
    `#   level:      compression, 0 (store) to 9 (smallest, slowest). Default: ${DEFAULTS.level}`,
    '#   volumeSize: the largest archive volume; sets up to 1 GiB get smaller ones, so that',
    '#               rebuilding one lost volume costs about the PAR2 table\'s percentage. Defaults:',
    `#               daily ${formatSize(DEFAULTS.volumeSize.daily)} (small incremental sets; a failed upload costs less),`,
    `#               weekly, monthly and yearly ${formatSize(DEFAULTS.volumeSize.weekly)}.`,
    '# "strata backup --level N --volume-size SIZE" overrides both for one run.',
    'archive:',
  );
  for (const tier of TIERS) {
    add(`  ${tier}:`, `    level: ${DEFAULTS.level}`, `    volumeSize: ${formatSize(DEFAULTS.volumeSize[tier])}`);
  }
  add(
    '',
    '# schedule: when "strata backup --tier auto" picks which tier.',
    '#   weeklyOn: the weekday of the weekly backup, one of',
    `#             ${WEEKDAYS.join(', ')}. Default: ${DEFAULTS.weeklyOn}`,
    '#   at:       the time of the daily backup that "strata schedule install" sets up, HH:MM on a',
    '#             24-hour clock (local time; quote it). "schedule install --at" overrides it.',
    '#             Default: 03:00',
    'schedule:',
    `  weeklyOn: ${DEFAULTS.weeklyOn}`,
    '  # at: "03:00"',
    '',
    '# staging: the local folder where volumes wait for upload.',
    '#   maxVolumes: at most this many finished volumes wait at once; archiving pauses until one is',
    '#               uploaded. Volumes that PAR2 sets not yet made still need are kept besides: at',
    '#               most maxVolumes + 2 x groupSize + groupSize/2 (rounded up) of a grouped set,',
    '#               maxVolumes + 2 x windowSize of a sliding one (a direct set is kept whole).',
    '#               Default: ' + String(DEFAULTS.maxVolumes),
    'staging:',
    `  maxVolumes: ${DEFAULTS.maxVolumes}`,
    '',
    '# routing: a set may be several standard 7-Zip archives, each restorable with stock 7zz (RESTORE.txt',
    '# says how): files that do not compress (a sample of each file of 256KiB or more is tried) are',
    '# stored, the rest compressed in one or two archives, and 7-Zip writes them at the same time.',
    '# Sets that stream (larger than protection.directMaxBytes) stay one archive.',
    '#   enabled:       false: every set is one LZMA2 archive. Default: true',
    `#   minBytes:      sets with fewer bytes to archive stay one archive. Default: ${formatSize(defaultRoutePolicy.minBytes)}`,
    `#   splitMinBytes: from this many compressible bytes on, they go to two archives. Default: ${formatSize(defaultRoutePolicy.splitMinBytes)}`,
    `#   storeMinBytes: incompressible files are stored when they add up to this much. Default: ${formatSize(defaultRoutePolicy.storeMinBytes)}`,
    'routing:',
    '  enabled: true',
    `  minBytes: ${formatSize(defaultRoutePolicy.minBytes)}`,
    `  splitMinBytes: ${formatSize(defaultRoutePolicy.splitMinBytes)}`,
    `  storeMinBytes: ${formatSize(defaultRoutePolicy.storeMinBytes)}`,
  );
  addRetention(add);
  // notify before protection: the protection section stays last (its test uncomments it to the end).
  addNotify(add);
  addProtection(add);
  return L.join('\n') + '\n';
}

/**
 * addProtection writes the protection section, commented out: the defaults are strata's policy
 * and may improve in a later version, which a copied-in table would silently pin. Uncommented as a
 * whole it loads and equals defaultProtectionConfig (test/config/init.test.ts checks that).
 */
function addProtection(add: (...lines: string[]) => void): void {
  const p = defaultProtectionConfig;
  add(
    '',
    '# protection: how much PAR2 recovery data each set gets and how it is laid out ("strata plan',
    '# --size 25GiB --tier monthly" shows the layout and what it survives). Default: the section below.',
    '#   tiers:   per tier, a table of size classes, smallest first. Each class:',
    '#              name:              a label shown by "strata plan" and "strata list".',
    '#              upTo:              sets up to this size (the sum of the volumes); the last class',
    '#                                 has no bound: "unlimited" (or leave upTo out).',
    '#              redundancyPercent: recovery data per PAR2 set, in % of the bytes it protects (0-100].',
    '#            A tier left out keeps its default table.',
    `#   directMaxBytes:  sets up to this size get one PAR2 set beside the volumes. Default: ${formatSize(p.directMaxBytes)}`,
    `#   groupedMaxBytes: larger sets up to this size get fixed groups of volumes, each with its own PAR2`,
    `#                    set in a sub-folder; larger ones sliding windows. Default: ${formatSize(p.groupedMaxBytes)}`,
    `#   groupSize:   volumes per group, at fixed positions (1-20, 21-40, ...). A remainder of at least`,
    `#                half a group is a last group of its own, a smaller one joins the last full group,`,
    `#                so every group but the last is made while archiving. Default: ${p.groupSize}`,
    `#   windowSize:  volumes per sliding window. Default: ${p.windowSize}`,
    `#   windowSlide: volumes between the starts of two windows (at most windowSize). Default: ${p.windowSlide}`,
    '#   minWholeVolumes: each PAR2 set can rebuild at least this many of its largest volumes, even',
    `#                    above the percentage of the table. Default: ${p.minWholeVolumes}`,
    `#   maxRedundancyPercent: ... unless that needs more than this percentage (then the table's`,
    `#                    percentage stands). Default: ${p.maxRedundancyPercent}`,
    '#   blockSize: the PAR2 block size: "auto" (about 32 blocks per volume, a multiple of 4KiB) or a',
    '#              size that is a multiple of 4 bytes. Default: auto',
    '# protection:',
    '#   tiers:',
  );
  for (const tier of TIERS) {
    add(`#     ${tier}:`);
    for (const r of p.tiers[tier]) {
      add(`#       - name: ${scalar(r.name)}`, `#         upTo: ${r.upTo === null ? 'unlimited' : formatSize(r.upTo)}`, `#         redundancyPercent: ${r.redundancyPercent}`);
    }
  }
  add(
    `#   directMaxBytes: ${formatSize(p.directMaxBytes)}`,
    `#   groupedMaxBytes: ${formatSize(p.groupedMaxBytes)}`,
    `#   groupSize: ${p.groupSize}`,
    `#   windowSize: ${p.windowSize}`,
    `#   windowSlide: ${p.windowSlide}`,
    `#   minWholeVolumes: ${p.minWholeVolumes}`,
    `#   maxRedundancyPercent: ${p.maxRedundancyPercent}`,
    `#   blockSize: ${p.blocks.blockSize === 'auto' ? 'auto' : formatSize(p.blocks.blockSize)}`,
  );
}

/** addRetention writes the retention section with its defaults (core/retention DEFAULT_RETENTION). */
function addRetention(add: (...lines: string[]) => void): void {
  add(
    '',
    '# retention: how long the sets of each tier are kept; "strata prune" removes the older ones',
    '# (see what it would do with "strata prune", do it with "strata prune --apply").',
    '#   daily, weekly, monthly, yearly: a whole number and a unit: d (days), w (weeks), m (calendar',
    '#             months), y (calendar years), e.g. 30d, 12w, 6m, 5y; or forever. Age counts from the',
    '#             set\'s time. Whatever its age, the newest set of each source is kept, and so is every',
    '#             set a kept set needs (an INCR needs its FULL and the INCRs between).',
    `#             daily must be at least ${MIN_DAILY_DAYS}d (one daily chain, from one weekly FULL to the next);`,
    '#             weekly, monthly and yearly at least as long as daily (their FULL sets are the bases',
    '#             of the daily sets made after them).',
    `#             Defaults: daily ${formatRetention(DEFAULT_RETENTION.daily)}, weekly ${formatRetention(DEFAULT_RETENTION.weekly)}, monthly ${formatRetention(DEFAULT_RETENTION.monthly)}, yearly ${formatRetention(DEFAULT_RETENTION.yearly)}`,
    '#   pruneAfterBackup: true: a backup whose every set is complete (not partial, not failed) prunes',
    '#             this job\'s expired sets after it. Default: true',
    '#   deleteBy: strata (default): prune deletes the expired sets. tag (S3 only): prune tags their',
    '#             objects expire=yes and the bucket\'s lifecycle rule by that tag deletes them',
    '#             ("strata cloud lifecycle --apply" sets it): backup credentials need no delete permission.',
    'retention:',
  );
  for (const tier of TIERS) add(`  ${tier}: ${formatRetention(DEFAULT_RETENTION[tier])}`);
  add('  pruneAfterBackup: true');
}

/** addNotify writes the notify section, commented out (no one is notified by default). */
function addNotify(add: (...lines: string[]) => void): void {
  add(
    '',
    '# notify: who hears how backup, verify, prune and promote runs end (every run is also in the',
    '# run log: "strata log"). A notifier that fails or hangs is a warning; it never fails the run.',
    '#   command: run with sh -c, with the run in STRATA_RUN_* variables (RESULT, COMMAND, JOB,',
    '#            DESTINATION, EXIT_CODE, ERROR, SUMMARY, SETS_MADE …), never the password.',
    '#   on:      the outcomes the command runs for: failure, partial, success. Default: [failure, partial]',
    '#   url:     pinged healthchecks-style: <url>/start when the run starts, <url> when it succeeds,',
    '#            <url>/fail when it does not.',
    `#   timeout: how long the command or a ping may take. Default: ${NOTIFY_TIMEOUT_S}s`,
    '# notify:',
    '#   command: \'mail -s "strata $STRATA_RUN_RESULT" me@example.com <<< "$STRATA_RUN_SUMMARY"\'',
    '#   on: [failure, partial]',
    '#   url: https://hc-ping.com/your-uuid',
    `#   timeout: ${NOTIFY_TIMEOUT_S}s`,
  );
}
