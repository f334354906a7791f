/**
 * Startup (issue 11): a command loads only the modules it needs — the registry imports a command's
 * module when that command runs; a backup to a local folder loads no other command, no S3 SDK and no
 * XML parser. Checked on the real CLI with a resolve hook that records every module loaded. The CLI
 * runs bundled (scripts/bundle.mjs): each file it loads from dist/bundle is named by the source
 * modules esbuild put in it (dist/bundle/meta.json), so the checks below still name source modules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CLI_ENTRY, strata } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

/** repoRoot is the checkout this compiled test belongs to (dist/test/cli → three levels up); meta.json's paths are relative to it. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** loadedBy runs strata with a hook that appends each resolved module URL to a file, and returns them: the
 * source modules in each bundled file it loaded, and the URL of anything else (an external package). */
async function loadedBy(dir: string, name: string, args: string[], env: Record<string, string>): Promise<{ code: number; urls: string[] }> {
  const log = path.join(dir, `${name}.loaded`);
  const hooks = path.join(dir, 'hooks.mjs');
  await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`);
  const register = path.join(dir, 'register.mjs');
  await writeFile(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  const r = await strata(args, { env: { ...env, NODE_OPTIONS: `--import=${pathToFileURL(register).href}` } });
  assert.equal(r.stderr.includes('strata: error'), false, r.stderr);
  const loaded = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
  const bundleDir = path.dirname(CLI_ENTRY);
  const meta = JSON.parse(await readFile(path.join(bundleDir, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> }> };
  const bundled = new Map<string, string[]>();
  for (const [out, o] of Object.entries(meta.outputs)) bundled.set(pathToFileURL(path.resolve(repoRoot, out)).href, Object.keys(o.inputs).map((i) => pathToFileURL(path.resolve(repoRoot, i)).href));
  const urls: string[] = [];
  for (const u of loaded) {
    const inputs = bundled.get(u);
    if (u.startsWith(pathToFileURL(bundleDir).href)) assert.ok(inputs !== undefined, `${u} is in dist/bundle but not in its meta.json`);
    urls.push(...(inputs ?? [u]));
  }
  return { code: r.code, urls };
}

const otherCommands = ['restore', 'verify', 'cloud', 'cloud-template', 'browse', 'prune', 'promote', 'status', 'report', 'plan', 'init', 'list', 'history', 'schedule', 'config', 'check-destination', 'version'];

test('a backup to a local folder loads its own command only, no S3 SDK, no XML parser, one zod locale; version loads no backup; the set takes the marker\'s salt', async (t) => {
  const dir = await tempDir(t, 'strata-startup-');
  const src = path.join(dir, 'src');
  await mkdir(path.join(src, 'docs'), { recursive: true });
  await writeFile(path.join(src, 'docs', 'a.txt'), 'hello\n');
  const env = { STRATA_PASSWORD: 'startup-test-pw' };
  const state = path.join(dir, 'state');
  const dest = path.join(dir, 'dest');
  const args = (tier: string): string[] => ['--state', state, '--quiet', 'backup', '--tier', tier, '--source', src, '--dest', dest];
  const first = await strata(args('weekly'), { env });
  assert.equal(first.code, 0, first.stderr);
  // The set takes the salt of the destination's marker: each later run derives one key (scrypt), not two.
  const setId = (await readdir(dest)).find((n) => n.includes('_FULL_'));
  assert.ok(setId !== undefined);
  const saltOf = async (file: string): Promise<unknown> => (JSON.parse(await readFile(file, 'utf8')) as { kdf: { salt: string } }).kdf.salt;
  assert.equal(await saltOf(path.join(dest, setId, `${setId}.strata.json`)), await saltOf(path.join(dest, 'strata-destination.json')), 'the set has a salt of its own, not the marker\'s');
  const daily = await loadedBy(dir, 'daily', args('daily'), env);
  assert.equal(daily.code, 0);
  assert.ok(daily.urls.some((u) => u.endsWith('/commands/backup.js')), 'the backup command was loaded');
  for (const c of otherCommands) assert.equal(daily.urls.filter((u) => u.endsWith(`/commands/${c}.js`)).length, 0, `commands/${c}.js was loaded by a backup`);
  for (const m of ['@aws-sdk', '@smithy', 'fast-xml-parser', '/backend/s3.js', '/backend/webdav.js', '/backend/rclone.js', '/cli/completion.js']) {
    assert.equal(daily.urls.filter((u) => u.includes(m)).length, 0, `${m} was loaded by a local backup`);
  }
  // `import * as z from 'zod'` lets the bundle keep only the zod it uses; `import { z }` (the whole
  // namespace object) took all 64 of its locales along, 0.55 MB of the backup's 1.29 MB of code.
  const locales = daily.urls.filter((u) => u.includes('/zod/v4/locales/') && !u.endsWith('/locales/en.js'));
  assert.deepEqual(locales, [], 'zod locales other than English were loaded by a backup');
  assert.ok(daily.urls.some((u) => u.endsWith('/zod/v4/locales/en.js')), 'the check above no longer sees zod (its path changed?)');
  const version = await loadedBy(dir, 'version', ['--state', state, 'version'], env);
  assert.equal(version.code, 0);
  assert.ok(version.urls.some((u) => u.endsWith('/commands/version.js')));
  assert.equal(version.urls.filter((u) => u.endsWith('/commands/backup.js') || u.includes('/pipeline/')).length, 0, 'version loaded the backup pipeline');
});
