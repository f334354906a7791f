/** version: strata's own version, read from the nearest package.json named "strata". */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** strataVersion returns the version in strata's package.json (searched upwards from this file). */
export async function strataVersion(): Promise<string> {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'strata' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // not here: go up
    }
    const up = path.dirname(dir);
    if (up === dir) return (cached = '0.0.0-unknown');
    dir = up;
  }
}
