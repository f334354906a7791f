/**
 * Tests for the hidden password prompt through a real pseudo-terminal: util-linux `script`
 * gives the child a controlling terminal, so /dev/tty, raw mode and "no echo" are the real thing.
 * Skipped where `script` is not installed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
const passwordModule = fileURLToPath(new URL('../../src/config/password.js', import.meta.url));

/** runPrompt starts promptHidden/resolvePassword under a pty and types each answer after its prompt appears. */
function runPrompt(code: string, answers: { after: string; type: string }[]): Promise<{ output: string; exitCode: number | null }> {
  const driver = `import(${JSON.stringify(passwordModule)}).then(async (m) => { ${code} }).catch((e) => { console.log('ERROR:' + e.code + ':' + e.message); process.exitCode = 1; });`;
  const command = `${JSON.stringify(process.execPath)} --input-type=module -e ${shellQuote(driver)}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'dumb' } });
    let output = '';
    let searchFrom = 0;
    const pending = [...answers];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; output so far: ${JSON.stringify(output)}`));
    }, 15000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      const next = pending[0];
      if (next !== undefined) {
        const at = output.indexOf(next.after, searchFrom);
        if (at !== -1) {
          searchFrom = at + next.after.length;
          pending.shift();
          // Raw mode is on once the prompt is written; a short pause covers the gap between the two.
          setTimeout(() => child.stdin.write(next.type), 100);
        }
      }
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ output, exitCode });
    });
  });
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

describe('password prompt on a pseudo-terminal', { skip: hasScript ? false : 'util-linux script is not installed' }, () => {
  it('reads a line without echo, with backspace editing', async () => {
    const { output, exitCode } = await runPrompt(`const pw = await m.promptHidden('Password: '); console.log('RESULT:' + Buffer.from(pw).toString('hex'));`, [
      { after: 'Password: ', type: 'hunterX\u007f2\r' },
    ]);
    assert.equal(exitCode, 0, output);
    assert.match(output, new RegExp(`RESULT:${hex('hunter2')}`));
    assert.doesNotMatch(output, /hunter/, 'the typed password must not be echoed');
  });

  it('asks twice through resolvePassword when confirming', async () => {
    const { output, exitCode } = await runPrompt(
      `const pw = await m.resolvePassword({ env: {}, confirm: true, isTTY: true }); console.log('RESULT:' + Buffer.from(pw).toString('hex'));`,
      [
        { after: 'Password: ', type: 'pä55wörd\r' },
        { after: 'Repeat password: ', type: 'pä55wörd\r' },
      ],
    );
    assert.equal(exitCode, 0, output);
    assert.match(output, new RegExp(`RESULT:${hex('pä55wörd')}`));
    assert.doesNotMatch(output, /pä55|wörd/);
  });

  it('Ctrl-C cancels', async () => {
    const { output } = await runPrompt(`await m.promptHidden('Password: ');`, [{ after: 'Password: ', type: 'abc\u0003' }]);
    assert.match(output, /ERROR:CANCELLED:password prompt cancelled/);
    assert.doesNotMatch(output, /abc/);
  });
});
