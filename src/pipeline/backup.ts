/**
 * pipeline/backup.ts: the backup's public API lives in the folder pipeline/backup/ (one file per
 * stage, see its index.ts). This file only re-exports it so that imports of `pipeline/backup.js`
 * made before the split (restore.ts, verify.ts: Tools) keep working; new code imports
 * `pipeline/backup/index.js`.
 */
export * from './backup/index.js';
