/**
 * config/paths: where strata keeps its local state, and how user-written paths ("~/docs",
 * "../photos") become absolute. The home folder and XDG variables come from the environment
 * handed in, so tests and the CLI agree on one source of truth.
 */
import { homedir } from 'node:os';
import * as path from 'node:path';
import { StrataError } from '../errors.js';

/** homeDir is $HOME when set, else the account's home folder. */
export function homeDir(env: NodeJS.ProcessEnv): string {
  const home = env['HOME'];
  return home !== undefined && home !== '' ? home : homedir();
}

/** expandHome replaces a leading "~" or "~/" with the home folder; "~user" is left alone. */
export function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === '~') return homeDir(env);
  if (p.startsWith('~/')) return path.join(homeDir(env), p.slice(2));
  return p;
}

/** resolveUserPath expands "~" and makes a path absolute against baseDir. */
export function resolveUserPath(p: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  return path.resolve(baseDir, expandHome(p, env));
}

/**
 * stateDir is the folder for strata's local state: --state DIR when given, else
 * $XDG_STATE_HOME/strata, else ~/.local/state/strata. A relative XDG_STATE_HOME is ignored,
 * as the XDG Base Directory specification requires.
 */
export function stateDir(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string {
  if (flag !== undefined && flag !== '') return resolveUserPath(flag, cwd, env);
  const xdg = env['XDG_STATE_HOME'];
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'strata');
  return path.join(homeDir(env), '.local', 'state', 'strata');
}

/**
 * jobStateDir is the state folder of one job, `<stateDir>/jobs/<job>`; jobs sharing a state dir
 * never see each other's files. The job name is checked again here because it becomes a path.
 */
export function jobStateDir(dir: string, job: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(job) || job === '.' || job === '..') {
    throw new StrataError('CONFIG', `job name ${JSON.stringify(job)} cannot be used as a folder name`, {
      hint: 'Use letters, digits, ".", "_" and "-" only.',
    });
  }
  return path.join(dir, 'jobs', job);
}
