/** Tests for config/paths: the XDG state folder and per-job folders. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandHome, jobStateDir, stateDir } from '../../src/config/paths.js';
import { isStrataError } from '../../src/errors.js';

describe('stateDir', () => {
  it('prefers --state, then $XDG_STATE_HOME/strata, then ~/.local/state/strata', () => {
    assert.equal(stateDir('/var/lib/strata', { XDG_STATE_HOME: '/x', HOME: '/h' }), '/var/lib/strata');
    assert.equal(stateDir('~/st', { HOME: '/h' }), '/h/st');
    assert.equal(stateDir('rel', { HOME: '/h' }, '/cwd'), '/cwd/rel');
    assert.equal(stateDir(undefined, { XDG_STATE_HOME: '/x', HOME: '/h' }), '/x/strata');
    assert.equal(stateDir(undefined, { XDG_STATE_HOME: 'relative', HOME: '/h' }), '/h/.local/state/strata');
    assert.equal(stateDir(undefined, { HOME: '/h' }), '/h/.local/state/strata');
  });

  it('gives each job its own folder and refuses names that are not folder names', () => {
    assert.equal(jobStateDir('/s', 'laptop'), '/s/jobs/laptop');
    for (const bad of ['..', '.', 'a/b', '']) assert.throws(() => jobStateDir('/s', bad), (e: unknown) => isStrataError(e, 'CONFIG'));
  });

  it('expands only a leading ~', () => {
    assert.equal(expandHome('~', { HOME: '/h' }), '/h');
    assert.equal(expandHome('~/a', { HOME: '/h' }), '/h/a');
    assert.equal(expandHome('~bob/a', { HOME: '/h' }), '~bob/a');
    assert.equal(expandHome('a/~/b', { HOME: '/h' }), 'a/~/b');
  });
});
