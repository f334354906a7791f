/** cli/registry: the list of commands strata knows. Add a command by importing it here. */
import type { Command } from './context.js';

/** commands is every verb, in the order `strata --help` shows them. */
export const commands: Command[] = [];
