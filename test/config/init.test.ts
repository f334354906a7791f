/** Tests for config/template and `strata init`: the file documents every key, loads, and is not overwritten by accident. */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { createHash } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import type { CommandContext } from '../../src/commands/context.js';
import { fixedClock } from '../../src/clock.js';
import { initCommand } from '../../src/commands/init.js';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { DEFAULTS, keyPaths, TIERS } from '../../src/config/schema.js';
import { renderTemplate } from '../../src/config/template.js';
import { defaultProtectionConfig } from '../../src/core/protection/index.js';
import { isStrataError } from '../../src/errors.js';
import type { Output, Progress } from '../../src/ui/output.js';
import { tempDir } from '../helpers/tmp.js';

/** fakeContext captures what a command prints. */
function fakeContext(global: Partial<CommandContext['global']>, env: NodeJS.ProcessEnv = {}): { ctx: CommandContext; lines: string[] } {
  const lines: string[] = [];
  const progress: Progress = { update: () => undefined, done: () => undefined };
  const out: Output = {
    json: false,
    verbosity: 'normal',
    result: (l) => lines.push(l),
    summary: (l) => lines.push(l),
    data: () => undefined,
    info: (l) => lines.push(l),
    verbose: () => undefined,
    warn: (l) => lines.push(`warning: ${l}`),
    progress: () => progress,
  };
  const ctx: CommandContext = { global: { json: false, quiet: false, verbose: false, ...global }, out, clock: fixedClock(new Date(0)), env, signal: new AbortController().signal };
  return { ctx, lines };
}

describe('template', () => {
  it('documents every key of the schema', () => {
    const text = renderTemplate();
    for (const key of keyPaths()) {
      const last = key.split('.').pop()?.replace('[]', '') ?? key;
      assert.match(text, new RegExp(`^#?\\s*(- )?${last}:`, 'm'), `the template does not document ${key}`);
    }
    for (const tier of TIERS) assert.match(text, new RegExp(`^  ${tier}:$`, 'm'));
  });

  it('loads and round-trips every default', () => {
    const c = parseConfigText(renderTemplate(), 'strata.yaml', { baseDir: '/etc/strata', env: { HOME: '/home/me' } });
    assert.equal(c.job, DEFAULTS.job);
    assert.deepEqual(c.sources, [{ name: 'Documents', path: '/home/me/Documents', exclude: [] }]);
    assert.equal(c.destination, '/mnt/backup/strata');
    assert.equal(c.password, undefined);
    for (const tier of TIERS) assert.deepEqual(c.archive[tier], { level: DEFAULTS.level, volumeSize: DEFAULTS.volumeSize[tier] });
    assert.deepEqual(c.schedule, { weeklyOn: DEFAULTS.weeklyOn });
    assert.deepEqual(c.staging, { maxVolumes: DEFAULTS.maxVolumes });
  });

  it('the commented password example loads when uncommented', () => {
    const text = renderTemplate().replace('# password:\n#   command: pass show backup', 'password:\n  command: pass show backup');
    const c = parseConfigText(text, 'strata.yaml', { baseDir: '/', env: {} });
    assert.deepEqual(c.password, { command: 'pass show backup' });
  });

  it('the commented protection section loads when uncommented and equals the defaults', () => {
    const text = renderTemplate();
    const start = text.indexOf('# protection:\n');
    assert.ok(start > 0, 'the template shows the protection section');
    const uncommented = text.slice(0, start) + text.slice(start).split('\n').map((l) => l.replace(/^# ?/, '')).join('\n');
    const c = parseConfigText(uncommented, 'strata.yaml', { baseDir: '/', env: {} });
    assert.deepEqual(c.protection, defaultProtectionConfig);
    assert.deepEqual(parseConfigText(text, 'strata.yaml', { baseDir: '/', env: {} }).protection, defaultProtectionConfig);
  });

  it('quotes paths that YAML would misread', () => {
    const text = renderTemplate({ sources: [{ path: '/data/#weird: name', name: 'weird' }], destination: 's3://b/p?endpoint=http://x:9000' });
    const c = parseConfigText(text, 'strata.yaml', { baseDir: '/', env: {} });
    assert.equal(c.sources[0]?.path, '/data/#weird: name');
    assert.equal(c.destination, 's3://b/p?endpoint=http://x:9000');
  });
});

describe('strata init', () => {
  it('writes a strata.yaml that loads, and refuses to overwrite it without --force', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'strata.yaml');
    const { ctx, lines } = fakeContext({ config: file }, { HOME: '/home/me' });
    assert.equal(await initCommand.run(ctx, []), 0);
    assert.ok(lines.some((l) => l.includes('CHANGE THIS')), 'init tells the user to edit the placeholders');
    const c = await loadConfig(file, { HOME: '/home/me' });
    assert.equal(c.archive.daily.volumeSize, DEFAULTS.volumeSize.daily);
    assert.equal((await stat(file)).mode & 0o777, 0o600);

    await writeFile(file, '# my edits\n');
    await assert.rejects(initCommand.run(ctx, []), (e: unknown) => isStrataError(e, 'ALREADY_EXISTS') && /already exists/.test(e.message) && /--force/.test(e.hint ?? ''));
    assert.equal(await readFile(file, 'utf8'), '# my edits\n');

    assert.equal(await initCommand.run(ctx, ['--force']), 0);
    assert.match(await readFile(file, 'utf8'), /^# strata\.yaml/);
  });

  it('init --force over a world-readable file leaves it private (0600)', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'strata.yaml');
    await writeFile(file, 'destination: s3://AKID:SECRET@bucket/p\n', { mode: 0o644 });
    await chmod(file, 0o644);
    const { ctx } = fakeContext({ config: file }, { HOME: '/home/me' });
    assert.equal(await initCommand.run(ctx, ['--force', '--dest', 's3://AKID:SECRET@bucket/p']), 0);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.match(await readFile(file, 'utf8'), /^# strata\.yaml/);
  });

  it('writes the given sources and destination with fixed names and absolute paths', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'conf', 'job.yaml');
    await import('node:fs/promises').then((fs) => fs.mkdir(path.dirname(file)));
    const { ctx } = fakeContext({}, { STRATA_CONFIG: file, HOME: '/home/me' });
    assert.equal(await initCommand.run(ctx, ['--source', '/srv/docs', '--source', '/home/me/docs', '--source', '~/music', '--dest', 'rclone:nas:backups']), 0);
    const c = await loadConfig(file, {});
    assert.deepEqual(
      c.sources.map((s) => [s.name, s.path]),
      [
        [`docs-${createHash('sha256').update('/srv/docs').digest('hex').slice(0, 6)}`, '/srv/docs'],
        [`docs-${createHash('sha256').update('/home/me/docs').digest('hex').slice(0, 6)}`, '/home/me/docs'],
        ['music', '/home/me/music'],
      ],
    );
    assert.equal(c.destination, 'rclone:nas:backups');
    assert.doesNotMatch(await readFile(file, 'utf8'), /CHANGE THIS/);
  });

  it('gives a new job a unique name, never "default" (issue 7: two machines shared job default)', async (t) => {
    const dir = await tempDir(t);
    const jobs: string[] = [];
    for (const name of ['a.yaml', 'b.yaml']) {
      const file = path.join(dir, name);
      const { ctx } = fakeContext({ config: file }, { HOME: '/home/me' });
      assert.equal(await initCommand.run(ctx, ['--source', '/srv/docs', '--dest', '/mnt/backup']), 0);
      jobs.push((await loadConfig(file, {})).job);
    }
    for (const job of jobs) {
      assert.notEqual(job, 'default');
      assert.match(job, /^[A-Za-z0-9._-]+-[0-9a-f]{6}$/);
      assert.ok(job.startsWith(hostname().replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 40)), `${job} is derived from the host name`);
    }
    assert.notEqual(jobs[0], jobs[1]);
  });

  it('reports a bad flag or a missing folder as USAGE', async (t) => {
    const dir = await tempDir(t);
    const { ctx } = fakeContext({ config: path.join(dir, 'strata.yaml') });
    await assert.rejects(initCommand.run(ctx, ['--frobnicate']), (e: unknown) => isStrataError(e, 'USAGE') && /^init: /.test(e.message));
    await assert.rejects(initCommand.run(ctx, ['--source', '']), (e: unknown) => isStrataError(e, 'USAGE'));
    const { ctx: ctx2 } = fakeContext({ config: path.join(dir, 'missing', 'strata.yaml') });
    await assert.rejects(initCommand.run(ctx2, []), (e: unknown) => isStrataError(e, 'USAGE') && /does not exist/.test(e.message));
  });
});
