/** Mistakes on the command line: did-you-mean for commands and flags, and no raw parser text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editDistance, suggest } from '../../src/core/suggest.js';
import { strata } from '../helpers/cli.js';

test('editDistance counts edits and neighbour swaps', () => {
  assert.equal(editDistance('tier', 'tier'), 0);
  assert.equal(editDistance('teir', 'tier'), 1);
  assert.equal(editDistance('restor', 'restore'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
});

test('suggest proposes near names only', () => {
  const commands = ['init', 'backup', 'list', 'restore', 'verify', 'history', 'log', 'plan', 'check-destination'];
  assert.equal(suggest('restor', commands), 'restore');
  assert.equal(suggest('verfy', commands), 'verify');
  assert.equal(suggest('bakcup', commands), 'backup');
  assert.equal(suggest('check', commands), 'check-destination');
  assert.equal(suggest('xyzzy', commands), undefined);
  assert.equal(suggest('ls', ['list', 'log']), undefined, 'two equally near: no guess');
});

test('a mistyped command or flag gets a suggestion; parser wording never reaches the user', async () => {
  const cases: [string[], RegExp, RegExp][] = [
    [['restor'], /unknown command "restor"/, /Did you mean "strata restore"\?/],
    [['backup', '--teir', 'daily'], /backup: unknown option --teir/, /Did you mean --tier\?/],
    [['backup', '--tier'], /backup: --tier needs a value/, /--tier=VALUE/],
    [['restore', '--overwrite=yes'], /restore: --overwrite takes no value/, /strata restore --help/],
    [['plan', '--size', '1', '--tier', 'daily', 'extra'], /plan: unexpected argument "extra"/, /strata plan --help/],
    [['--json=1', 'list'], /--json takes no value/, /strata --help/],
  ];
  for (const [args, message, hint] of cases) {
    const r = await strata(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, hint, args.join(' '));
    assert.doesNotMatch(r.stderr, /Unknown option '|argument missing|Unexpected argument '|positional/, args.join(' '));
  }
});
