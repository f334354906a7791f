/**
 * config/password: where the encryption password comes from, in a fixed order:
 *   1. $STRATA_PASSWORD
 *   2. the file named by $STRATA_PASSWORD_FILE (must not be accessible by group or others)
 *   3. the config's `password:` block (command, file or env)
 *   4. a prompt on the terminal, without echo (asked twice when a first set is created)
 * The first source that is set is used; if it fails, that is an error (strata does not quietly
 * fall through to the next one, which would hide a broken setup). The password is returned to
 * the caller and never written to any log or message; a password command's standard output is
 * not shown either, since it holds the password. Its error output is shown (prefixed), it gets no
 * input (stdin is empty), and it is stopped after password.timeout (default 60 s), so a password
 * manager waiting for someone to unlock it can never hang a scheduled backup: exit 12 instead.
 */
import { closeSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as path from 'node:path';
import * as tty from 'node:tty';
import { errnoCode, errorMessage, StrataError } from '../errors.js';
import { run } from '../exec/run.js';
import { expandHome } from './paths.js';
import { PASSWORD_COMMAND_TIMEOUT_S, type PasswordConfig } from './schema.js';
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
  /** Receives each line a password command writes to stderr (default: printed to stderr, prefixed). */
  onCommandStderr?: (line: string) => void;
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
    if ('command' in block) return passwordFromCommand(block.command, block.timeoutSeconds ?? PASSWORD_COMMAND_TIMEOUT_S, req);
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

/**
 * passwordFromCommand runs the config's command with sh -c and takes the first line of its stdout.
 * Its stderr goes to the user line by line (a password manager says why it failed there); a command
 * still running after `timeoutSeconds` is killed, with its whole process group.
 */
async function passwordFromCommand(command: string, timeoutSeconds: number, req: PasswordRequest): Promise<string> {
  const show = req.onCommandStderr ?? ((line: string) => process.stderr.write(`password command: ${line}\n`));
  let pending = '';
  const onStderr = (chunk: string): void => {
    pending += chunk;
    for (let i = pending.indexOf('\n'); i !== -1; i = pending.indexOf('\n')) {
      show(pending.slice(0, i).replace(/\r$/, ''));
      pending = pending.slice(i + 1);
    }
  };
  const timer = new AbortController();
  const timeout = setTimeout(() => timer.abort(), timeoutSeconds * 1000);
  const signal = req.signal === undefined ? timer.signal : AbortSignal.any([timer.signal, req.signal]);
  let result;
  try {
    result = await run('sh', ['-c', command], { env: req.env, signal, onStderr, killGroup: true });
  } catch (e) {
    if (timer.signal.aborted && req.signal?.aborted !== true) {
      throw new StrataError('NO_PASSWORD', `the password command did not finish within ${timeoutSeconds} s and was stopped`, {
        hint: 'A password manager may be waiting to be unlocked: unlock it, or raise password.timeout in strata.yaml (e.g. timeout: 120s).',
        cause: e,
      });
    }
    throw e;
  } finally {
    clearTimeout(timeout);
    if (pending !== '') show(pending);
  }
  if (result.exitCode !== 0 || result.signal !== null) {
    const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
    throw new StrataError('NO_PASSWORD', `the password command ${how}`, {
      hint: 'Its error output, if any, is shown above (prefixed "password command:"); run the command from strata.yaml yourself to check it.',
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
