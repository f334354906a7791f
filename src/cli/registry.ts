/** cli/registry: the list of commands strata knows. Add a command by importing it here. */
import type { Command } from '../commands/context.js';
import { initCommand } from '../commands/init.js';
import { backupCommand } from '../commands/backup.js';
import { listCommand } from '../commands/list.js';
import { restoreCommand } from '../commands/restore.js';
import { verifyCommand } from '../commands/verify.js';
import { historyCommand, logCommand } from '../commands/history.js';
import { planCommand } from '../commands/plan.js';
import { checkDestinationCommand } from '../commands/check-destination.js';
import { versionCommand } from '../commands/version.js';
import { configCommand } from '../commands/config.js';
import { scheduleCommand } from '../commands/schedule.js';
import { statusCommand } from '../commands/status.js';
import { reportCommand } from '../commands/report.js';
import { diffCommand, findCommand, lsCommand } from '../commands/browse.js';
import { pruneCommand } from '../commands/prune.js';
import { promoteCommand } from '../commands/promote.js';
import { replicateCommand } from '../commands/replicate.js';
import { cloudCommand } from '../commands/cloud.js';

/** commands is every verb, in the order `strata --help` shows them. */
export const commands: Command[] = [
  initCommand, backupCommand, listCommand, restoreCommand, lsCommand, findCommand, diffCommand, verifyCommand, pruneCommand, promoteCommand, replicateCommand, historyCommand, logCommand,
  statusCommand, scheduleCommand, planCommand, checkDestinationCommand, reportCommand, configCommand, cloudCommand, versionCommand,
];
