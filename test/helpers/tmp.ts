/** Test helpers: temporary folders that are removed after the test. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

/** tempDir makes a fresh folder and removes it when the test ends. */
export async function tempDir(t: TestContext | undefined, prefix = 'strata-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(process.env['STRATA_TEST_TMP'] ?? tmpdir(), prefix));
  t?.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
