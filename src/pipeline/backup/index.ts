/**
 * pipeline/backup: one backup run of a job, as stages (see README "Development"): run.ts (the run
 * loop, lock), housekeeping.ts, password.ts, source.ts (one set, stage by stage), scan.ts,
 * archive.ts, volume-stream.ts, parity.ts, manifest.ts, finalize.ts, with the resume journal
 * (journal.ts, resume.ts) and the set being written (set.ts).
 */
export { jobPaths, runBackup } from './run.js';
export type { BackupRequest, BackupResult, JobPaths, PipelineEvent, SourceResult, Tools } from './types.js';
