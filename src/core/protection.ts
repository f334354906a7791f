/**
 * Temporary: pipeline/backup.ts (split by another branch) still imports this path. The planner is
 * src/core/protection/ (import '…/core/protection/index.js'); delete this file once nothing imports it.
 */
export * from './protection/index.js';
