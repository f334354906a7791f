/**
 * config/password: where the encryption password comes from, in a fixed order:
 *   1. $STRATA_PASSWORD
 *   2. the file named by $STRATA_PASSWORD_FILE (must not be accessible by group or others)
 *   3. the config's `password:` block (command, file or env)
 *   4. a prompt on the terminal, without echo (asked twice when a first set is created)
 * The first source that is set is used; if it fails, that is an error (strata does not quietly
 * fall through to the next one, which would hide a broken setup). The password is returned to
 * the caller and never written to any log or message; a password command's output is not shown
 * either, since it may contain the password.
 */
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { errnoCode, errorMessage, StrataError } from '../errors.js';
import { run } from '../exec/run.js';
import { expandHome } from './paths.js';
import type { PasswordConfig } from './schema.js';
import { hideFromChildren } from '../exec/run.js';

/** PasswordRequest says where a password may come from for one command. */
export interface PasswordRequest {
  /** The loaded config, if any (only its password block is read). */
  config?: { password?: PasswordConfig | undefined } | undefined;
  env: NodeJS.ProcessEnv;
  /** Ask twice and compare (creating the first set: a typo would lock the user out). */
  confirm: boolean;
  /** Whether a terminal is there to prompt on (typically process.stdin.isTTY === true). */
  isTTY: boolean;
  /** Reads one line without echo; defaults to promptHidden (tests inject a fake). */
  prompt?: (question: string) => Promise<string>;
  signal?: AbortSignal;
}

const NO_PASSWORD_HINT =
  'Set STRATA_PASSWORD, point STRATA_PASSWORD_FILE at a file only you can read (chmod 600), add "password: { command: ... }" (or file:, env:) to strata.yaml, or run strata on a terminal to be asked.';

function emptyPassword(where: string): StrataError {
  return new StrataError('NO_PASSWORD', `${where} gave an empty password; an empty password is refused`, { hint: NO_PASSWORD_HINT });
}

/** firstLine is the text before the first line break (a trailing newline is not part of a password). */
function firstLine(text: string): string {
  const end = text.search(/\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}

/** resolvePassword returns the password from the first source that is set (see the module comment). */
export async function resolvePassword(req: PasswordRequest): Promise<string> {
  const password = await fromFirstSource(req);
  // 7-Zip reads the password from stdin as one line: refuse a line break now, before anything runs.
  if (/[\r\n]/.test(password)) {
    throw new StrataError('USAGE', 'the password contains a line break, which 7-Zip cannot read from stdin', { hint: 'Use a password without line breaks.' });
  }
  return password;
}

async function fromFirstSource(req: PasswordRequest): Promise<string> {
  const { env } = req;
  const direct = env['STRATA_PASSWORD'];
  if (direct !== undefined) {
    if (direct === '') throw emptyPassword('STRATA_PASSWORD');
    return direct;
  }
  const file = env['STRATA_PASSWORD_FILE'];
  if (file !== undefined && file !== '') return readPasswordFile(path.resolve(expandHome(file, env)), 'STRATA_PASSWORD_FILE');
  const block = req.config?.password;
  if (block !== undefined) {
    if ('command' in block) return passwordFromCommand(block.command, env, req.signal);
    if ('file' in block) return readPasswordFile(path.resolve(expandHome(block.file, env)), 'password.file in the config');
    hideFromChildren(block.env);
    const value = env[block.env];
    if (value === undefined) {
      throw new StrataError('NO_PASSWORD', `the config's password.env names ${block.env}, which is not set`, { hint: `Export ${block.env}, or change the password block of the config.` });
    }
    if (value === '') throw emptyPassword(block.env);
    return value;
  }
  if (!req.isTTY) throw new StrataError('NO_PASSWORD', 'no password given and no terminal to ask for one', { hint: NO_PASSWORD_HINT });
  const prompt = req.prompt ?? promptHidden;
  const first = await prompt('Password: ');
  if (first === '') throw emptyPassword('the prompt');
  if (req.confirm) {
    const again = await prompt('Repeat password: ');
    if (again !== first) throw new StrataError('NO_PASSWORD', 'the two passwords did not match', { hint: 'Run the command again and type the same password twice.' });
  }
  return first;
}

/**
 * readPasswordFile returns the first line of a password file, refusing one that group or others
 * may access (mode & 0o077): a readable password file is a leaked password. The mode is checked
 * on the opened file, so the file cannot be swapped between check and read.
 */
async function readPasswordFile(file: string, what: string): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    const why = errnoCode(e) === 'ENOENT' ? 'does not exist' : `cannot be read (${errorMessage(e)})`;
    throw new StrataError('CONFIG', `password file ${file} (${what}) ${why}`, { hint: 'Check the path, or use another password source.', cause: e });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new StrataError('CONFIG', `password file ${file} (${what}) is not a regular file`, { hint: 'Point it at a file holding the password on its first line.' });
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new StrataError('CONFIG', `password file ${file} (${what}) is accessible by group or others (mode ${mode})`, {
        hint: `Make it private: chmod 600 ${JSON.stringify(file)}`,
      });
    }
    const password = firstLine(await handle.readFile('utf8'));
    if (password === '') throw emptyPassword(`password file ${file}`);
    return password;
  } finally {
    await handle.close();
  }
}

/** passwordFromCommand runs the config's command with sh -c and takes the first line of its stdout. */
async function passwordFromCommand(command: string, env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<string> {
  const result = await run('sh', ['-c', command], signal === undefined ? { env } : { env, signal });
  if (result.exitCode !== 0 || result.signal !== null) {
    const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
    throw new StrataError('CONFIG', `the password command ${how}`, {
      hint: 'Run the password command from strata.yaml yourself to see why; strata does not show its output, which may hold the password.',
    });
  }
  const password = firstLine(result.stdout);
  if (password === '') throw emptyPassword('the password command (its first line of output was empty)');
  return password;
}

/**
 * promptHidden asks a question on the terminal and reads one line without echo: from /dev/tty
 * when it can be opened (so piped stdin/stdout do not matter), else from stdin if it is a
 * terminal. Backspace and Ctrl-U edit; Ctrl-C and Ctrl-D on an empty line cancel.
 */
export async function promptHidden(question: string): Promise<string> {
  let fd: number | undefined;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    fd = undefined;
  }
  let input: tty.ReadStream;
  let write: (s: string) => void;
  let release: () => void;
  if (fd !== undefined && tty.isatty(fd)) {
    const ttyFd = fd;
    input = new tty.ReadStream(ttyFd);
    const output = new tty.WriteStream(openSync('/dev/tty', 'w'));
    write = (s) => output.write(s);
    release = () => {
      // Destroying the read stream closes ttyFd; the write stream closes its own descriptor.
      input.destroy();
      output.end();
    };
  } else {
    if (fd !== undefined) closeSync(fd);
    if (!process.stdin.isTTY) throw new StrataError('NO_PASSWORD', 'no terminal to ask for the password on', { hint: NO_PASSWORD_HINT });
    input = process.stdin;
    write = (s) => process.stderr.write(s);
    release = () => input.pause();
  }
  write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  return new Promise<string>((resolve, reject) => {
    let line = '';
    const finish = (): void => {
      input.removeListener('data', onData);
      input.setRawMode(false);
      write('\n');
      release();
    };
    const onData = (chunk: string): void => {
      // An escape sequence (arrow keys, function keys) arrives as one chunk: ignore it whole.
      if (chunk.startsWith('\u001b')) return;
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(line);
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && line === '')) {
          finish();
          reject(new StrataError('CANCELLED', 'password prompt cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') line = Array.from(line).slice(0, -1).join('');
        else if (ch === '\u0015') line = '';
        else if (ch >= ' ') line += ch;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}
