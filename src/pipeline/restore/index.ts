/**
 * pipeline/restore: bring back the state of a source at a moment (run.ts describes the stages,
 * one file each: password, confinement, select, fetch, extract, place, metadata, staging).
 */
export { runRestore } from './run.js';
export type { RestoreRequest, RestoredSource } from './types.js';
export { checkPassword } from './password.js';
export { describeNotSet, type NotSet } from './metadata.js';
