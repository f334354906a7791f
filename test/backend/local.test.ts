/** Backend conformance of LocalBackend (a temporary folder); needs no server. */
import { rm } from 'node:fs/promises';
import { after } from 'node:test';
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
