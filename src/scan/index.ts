/**
 * scan: walk a source folder and detect what changed since the previous complete set, in bounded
 * memory (streams merge-joined in path order), with a stat cache that avoids re-reading unchanged
 * files and a racy-timestamp rule that never trusts a stat taken in the same clock tick as a scan.
 *
 * Use: scanSource() → archive the listed paths → finalizeAfterArchive() → (set complete) commitStatCache().
 */
export { scanSource, newStatCachePath, type ScanOptions, type ScanResult, type ScanError } from './scan.js';
export { finalizeAfterArchive, type FinalizeOptions, type FinalizeResult } from './finalize.js';
export { commitStatCache, RACY_MARGIN_NS } from './statcache.js';
export { checkSourceFilesystems, checkSourcesApart, localDestinationPath, sameAsSource, sourceSkips, mountOf, readMounts, realOrResolved, PSEUDO_FS_TYPES, type SourceSkip, type Mount } from './guard.js';
