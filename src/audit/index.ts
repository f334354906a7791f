/**
 * audit: the git audit trail of completed backup sets (manifests only, never file contents).
 */
export { AuditTrail, type AuditCommit, type AuditLogEntry, type FileChange } from './audit.js';
