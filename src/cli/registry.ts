/**
 * cli/registry: the list of commands strata knows. Add a command with a line here.
 *
 * Each command's module is imported only when that command runs (or when help or completion needs
 * every command's options): a run loads just the modules its command needs, which keeps strata's
 * start quick (issue 11: a no-change backup must not load restore, cloud or prune).
 */
import type { Command } from '../commands/context.js';

/** CommandEntry names a command and loads its module on demand. */
interface CommandEntry {
  name: string;
  load(): Promise<Command>;
}

/** entries is every verb, in the order `strata --help` shows them. */
const entries: CommandEntry[] = [
  { name: 'init', load: async () => (await import('../commands/init.js')).initCommand },
  { name: 'backup', load: async () => (await import('../commands/backup.js')).backupCommand },
  { name: 'list', load: async () => (await import('../commands/list.js')).listCommand },
  { name: 'restore', load: async () => (await import('../commands/restore.js')).restoreCommand },
  { name: 'ls', load: async () => (await import('../commands/browse.js')).lsCommand },
  { name: 'find', load: async () => (await import('../commands/browse.js')).findCommand },
  { name: 'diff', load: async () => (await import('../commands/browse.js')).diffCommand },
  { name: 'verify', load: async () => (await import('../commands/verify.js')).verifyCommand },
  { name: 'prune', load: async () => (await import('../commands/prune.js')).pruneCommand },
  { name: 'promote', load: async () => (await import('../commands/promote.js')).promoteCommand },
  { name: 'replicate', load: async () => (await import('../commands/replicate.js')).replicateCommand },
  { name: 'history', load: async () => (await import('../commands/history.js')).historyCommand },
  { name: 'log', load: async () => (await import('../commands/history.js')).logCommand },
  { name: 'status', load: async () => (await import('../commands/status.js')).statusCommand },
  { name: 'schedule', load: async () => (await import('../commands/schedule.js')).scheduleCommand },
  { name: 'plan', load: async () => (await import('../commands/plan.js')).planCommand },
  { name: 'check-destination', load: async () => (await import('../commands/check-destination.js')).checkDestinationCommand },
  { name: 'report', load: async () => (await import('../commands/report.js')).reportCommand },
  { name: 'config', load: async () => (await import('../commands/config.js')).configCommand },
  { name: 'cloud', load: async () => (await import('../commands/cloud.js')).cloudCommand },
  { name: 'version', load: async () => (await import('../commands/version.js')).versionCommand },
];

/** commandNames are the verbs, in help order. */
export const commandNames: readonly string[] = entries.map((e) => e.name);

/** loadCommand loads one command by name (undefined: no such command). */
export async function loadCommand(name: string): Promise<Command | undefined> {
  const entry = entries.find((e) => e.name === name);
  if (entry === undefined) return undefined;
  const command = await entry.load();
  if (command.name !== name) throw new Error(`registry: ${name} loaded command ${command.name}`);
  return command;
}

/** loadCommands loads every command (help and completion list their options). */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(entries.map((e) => e.load()));
}
