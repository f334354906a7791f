/** Backend conformance of LocalBackend (a temporary folder), and its own cleanup; needs no server. */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import type { BodySource } from '../../src/backend/backend.js';
import { LocalBackend } from '../../src/backend/local.js';
import { tempDir } from '../helpers/tmp.js';
import { backendConformance } from './conformance.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
backendConformance('local', async () => {
  const dir = await tempDir(undefined, 'strata-conformance-');
  dirs.push(dir);
  return new LocalBackend(dir);
});

// A source that fails at once rejects the pipeline while the temporary file may still be opening;
// removed before that open ended, the file was created after and left in the destination (CI saw
// one; a loop of 1,500 such puts under load left 3, and 0 of 3,000 with the fix). The race is rare,
// so this is a guard rather than a reliable failing test: without the fix it passed 3 runs of 3 here.
// It does catch a cleanup that never runs: a first fix that awaited events.once(out, 'close') (which
// rejects on the stream's 'error') skipped the removal and left a file behind every time.
test('LocalBackend: a put whose source fails at once leaves no temporary file behind', async (t) => {
  const dir = await tempDir(t, 'strata-local-put-');
  const b = new LocalBackend(dir);
  const broken: BodySource = {
    size: 10,
    open: () => new Readable({ read() {
      this.destroy(new Error('the source broke'));
    } }),
  };
  for (let i = 0; i < 1500; i++) await assert.rejects(b.put(`k${i}`, broken));
  assert.deepEqual(await readdir(dir), []);
});
