/** version: strata's own version, read from package.json. */
import { readFile } from 'node:fs/promises';

let cached: string | undefined;

/** strataVersion returns the version in package.json. */
export async function strataVersion(): Promise<string> {
  if (cached !== undefined) return cached;
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  cached = pkg.version;
  return cached;
}
