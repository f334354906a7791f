/** Tests for config/load and config/schema: valid files, defaults, every class of error, flags. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { applyOverrides, configFromFlags, configFilePath, findConfig, loadConfig } from '../../src/config/load.js';
import { suggest } from '../../src/core/suggest.js';
import { DEFAULTS, keysAt, type StrataConfig } from '../../src/config/schema.js';
import { defaultProtectionConfig, planProtection } from '../../src/core/protection/index.js';
import { defaultRoutePolicy } from '../../src/core/parts.js';

import { DEFAULT_RETENTION } from '../../src/core/retention.js';
import { isStrataError, StrataError } from '../../src/errors.js';
import { tempDir } from '../helpers/tmp.js';

const MiB = 1024 * 1024;

async function writeConfig(t: TestContext, text: string, name = 'strata.yaml'): Promise<{ dir: string; file: string }> {
  const dir = await tempDir(t);
  const file = path.join(dir, name);
  await writeFile(file, text);
  return { dir, file };
}

/** loadError loads a config that must fail and returns the CONFIG error. */
async function loadError(t: TestContext, text: string): Promise<StrataError> {
  const { dir, file } = await writeConfig(t, text);
  try {
    await loadConfig(file, { HOME: '/home/tester' }, dir);
  } catch (e) {
    assert.ok(isStrataError(e, 'CONFIG'), `expected a CONFIG error, got ${String(e)}`);
    assert.equal(e.exitCode, 2);
    assert.ok(e.hint !== undefined);
    return e;
  }
  assert.fail('config loaded but should not have');
}

describe('loadConfig: valid files', () => {
  it('reads every key', async (t) => {
    const { dir, file } = await writeConfig(
      t,
      [
        'job: laptop',
        'sources:',
        '  - path: /data/docs',
        '    name: docs',
        '    exclude: [node_modules/, "*.tmp"]',
        '  - path: photos',
        'destination: s3://bucket/prefix?endpoint=https://s3.example.com',
        'password:',
        '  command: pass show backup',
        'archive:',
        '  daily: { level: 1, volumeSize: 10MiB }',
        '  yearly:',
        '    level: 9',
        '    volumeSize: 1.5GiB',
        'schedule:',
        '  weeklyOn: Friday',
        'staging:',
        '  maxVolumes: 2',
        '',
      ].join('\n'),
    );
    const c = await loadConfig(file, { HOME: '/home/tester' }, dir);
    const expected: StrataConfig = {
      job: 'laptop',
      sources: [
        { name: 'docs', path: '/data/docs', exclude: ['node_modules/', '*.tmp'] },
        { name: 'photos', path: path.join(dir, 'photos'), exclude: [] },
      ],
      destination: 's3://bucket/prefix?endpoint=https://s3.example.com',
      password: { command: 'pass show backup' },
      archive: {
        daily: { level: 1, volumeSize: 10 * MiB },
        weekly: { level: 5, volumeSize: 100 * MiB },
        monthly: { level: 5, volumeSize: 100 * MiB },
        yearly: { level: 9, volumeSize: 1.5 * 1024 * MiB },
      },
      schedule: { weeklyOn: 'friday' },
      staging: { maxVolumes: 2 },
      routing: defaultRoutePolicy,
      protection: defaultProtectionConfig,
      retention: { tiers: DEFAULT_RETENTION, pruneAfterBackup: true },
    };
    assert.deepEqual(c, expected);
  });

  it('applies every default to a minimal file', async (t) => {
    const { dir, file } = await writeConfig(t, 'sources:\n  - path: /data/docs\ndestination: /mnt/nas/backups\n');
    const c = await loadConfig(file, {}, dir);
    assert.deepEqual(c, {
      job: 'default',
      sources: [{ name: 'docs', path: '/data/docs', exclude: [] }],
      destination: '/mnt/nas/backups',
      archive: {
        daily: { level: DEFAULTS.level, volumeSize: 50 * MiB },
        weekly: { level: 5, volumeSize: 100 * MiB },
        monthly: { level: 5, volumeSize: 100 * MiB },
        yearly: { level: 5, volumeSize: 100 * MiB },
      },
      schedule: { weeklyOn: 'sunday' },
      staging: { maxVolumes: 4 },
      routing: defaultRoutePolicy,
      protection: defaultProtectionConfig,
      retention: { tiers: DEFAULT_RETENTION, pruneAfterBackup: true },
    });
    assert.equal(c.password, undefined);
  });

  it('treats an empty value as "use the default"', async (t) => {
    const { dir, file } = await writeConfig(t, 'sources:\n  - path: /a\n    exclude:\n      # - node_modules/\ndestination: /b\narchive:\nschedule:\n');
    const c = await loadConfig(file, {}, dir);
    assert.deepEqual(c.sources[0]?.exclude, []);
    assert.equal(c.schedule.weeklyOn, 'sunday');
    assert.equal(c.archive.weekly.volumeSize, 100 * MiB);
  });

  it('reads a protection table and the layout settings, keeping the defaults of what is left out', async (t) => {
    const { dir, file } = await writeConfig(
      t,
      [
        'sources: [{path: /a}]',
        'destination: /b',
        'protection:',
        '  tiers:',
        '    weekly:',
        '      - name: tiny',
        '        upTo: 10MiB',
        '        redundancyPercent: 40',
        '      - name: rest',
        '        upTo: unlimited',
        '        redundancyPercent: 12.5',
        '  directMaxBytes: 1MiB',
        '  groupedMaxBytes: 2MiB',
        '  groupSize: 3',
        '  windowSize: 4',
        '  windowSlide: 2',
        '  minWholeVolumes: 0',
        '  maxRedundancyPercent: 80',
        '  blockSize: 8KiB',
        '',
      ].join('\n'),
    );
    const c = await loadConfig(file, {}, dir);
    assert.deepEqual(c.protection, {
      ...defaultProtectionConfig,
      tiers: { ...defaultProtectionConfig.tiers, weekly: [{ name: 'tiny', upTo: 10 * MiB, redundancyPercent: 40 }, { name: 'rest', upTo: null, redundancyPercent: 12.5 }] },
      directMaxBytes: MiB,
      groupedMaxBytes: 2 * MiB,
      groupSize: 3,
      windowSize: 4,
      windowSlide: 2,
      minWholeVolumes: 0,
      maxRedundancyPercent: 80,
      blocks: { ...defaultProtectionConfig.blocks, blockSize: 8192 },
    });
    // The planner takes it as it is: 10 volumes of 256 KiB (2.5 MiB) make sliding windows of 4 by 2.
    const plan = planProtection({ setId: 'S', tier: 'weekly', volumeSizes: new Array<number>(10).fill(256 * 1024) }, c.protection);
    assert.equal(plan.strategy, 'sliding');
    assert.deepEqual(plan.units.map((u) => [u.volumes[0], u.volumes[u.volumes.length - 1]]), [[0, 3], [2, 5], [4, 7], [6, 9]]);
    assert.equal(plan.redundancyPercent, 40);
    assert.equal(plan.units[0]?.blockSize, 8192);
  });

  it('resolves relative paths against the config folder and expands ~', async (t) => {
    const { dir, file } = await writeConfig(
      t,
      'sources:\n  - path: ./docs\n  - path: ../elsewhere/music\n  - path: ~/photos\ndestination: ../backups\npassword:\n  file: secret.txt\n',
      'sub.yaml',
    );
    // The file is loaded from another working folder: paths still follow the file.
    const c = await loadConfig(file, { HOME: '/home/tester' }, '/');
    assert.deepEqual(
      c.sources.map((s) => [s.name, s.path]),
      [
        ['docs', path.join(dir, 'docs')],
        ['music', path.join(path.dirname(dir), 'elsewhere', 'music')],
        ['photos', '/home/tester/photos'],
      ],
    );
    assert.equal(c.destination, path.join(path.dirname(dir), 'backups'));
    assert.deepEqual(c.password, { file: path.join(dir, 'secret.txt') });
  });

  it('leaves URLs and a structured destination to the backend layer', async (t) => {
    for (const dest of ['rclone:remote:path', 'webdav+https://host/path', 's3://b/p']) {
      const { dir, file } = await writeConfig(t, `sources: [{path: /a}]\ndestination: ${JSON.stringify(dest)}\n`);
      assert.equal((await loadConfig(file, {}, dir)).destination, dest);
    }
    const { dir, file } = await writeConfig(t, 'sources: [{path: /a}]\ndestination:\n  type: s3\n  bucket: b\n  endpoint: https://h\n');
    assert.deepEqual((await loadConfig(file, {}, dir)).destination, { type: 's3', bucket: 'b', endpoint: 'https://h' });
  });

  it('resolves a relative local path of a destination block against the config folder', async (t) => {
    const { dir, file } = await writeConfig(t, 'sources: [{path: /a}]\ndestination:\n  type: local\n  path: backups/here\n');
    assert.deepEqual((await loadConfig(file, { HOME: '/home/tester' }, '/')).destination, { type: 'local', path: path.join(dir, 'backups/here') });
    const home = await writeConfig(t, 'sources: [{path: /a}]\ndestination:\n  url: ~/bk\n');
    assert.deepEqual((await loadConfig(home.file, { HOME: '/home/tester' }, '/')).destination, { url: '/home/tester/bk' });
  });

  it('accepts sizes as plain byte counts and decimal units', async (t) => {
    const { dir, file } = await writeConfig(t, 'sources: [{path: /a}]\ndestination: /b\narchive:\n  daily: {volumeSize: 100MB}\n  weekly: {volumeSize: 123456}\n');
    const c = await loadConfig(file, {}, dir);
    assert.equal(c.archive.daily.volumeSize, 100_000_000);
    assert.equal(c.archive.weekly.volumeSize, 123456);
  });

  it('accepts each password form', async (t) => {
    for (const [yaml, want] of [
      ['command: "pass show x"', { command: 'pass show x' }],
      ['env: BACKUP_PW', { env: 'BACKUP_PW' }],
      ['file: /etc/pw', { file: '/etc/pw' }],
    ] as const) {
      const { dir, file } = await writeConfig(t, `sources: [{path: /a}]\ndestination: /b\npassword:\n  ${yaml}\n`);
      assert.deepEqual((await loadConfig(file, {}, dir)).password, want);
    }
  });
});

describe('loadConfig: errors name the key and the line', () => {
  it('unknown key, with line:col and a suggestion', async (t) => {
    const e = await loadError(t, 'job: x\nsources:\n  - path: /a\n    exlude: ["*.tmp"]\ndestination: /b\n');
    assert.equal(e.message, 'strata.yaml:4:5: unknown key "exlude" in sources[0] (did you mean "exclude"?)');
  });

  it('unknown key at the top level and in a tier; an empty unknown key is still reported', async (t) => {
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\nlifecycle:\narchive:\n  dayly:\n    level: 3\n  weekly: {volume_size: 1MiB}\n');
    assert.match(e.message, /^3 problems in strata\.yaml:/);
    assert.match(e.message, /strata\.yaml:3:1: unknown key "lifecycle" at the top level \(allowed: job, sources, destination, destinations, replicate, password, archive, schedule, staging, routing, protection, retention, notify\)/);
    assert.match(e.message, /strata\.yaml:5:3: unknown key "dayly" in archive \(did you mean "daily"\?\)/);
    assert.match(e.message, /strata\.yaml:7:12: unknown key "volume_size" in archive\.weekly \(did you mean "volumeSize"\?\)/);
  });

  it('wrong type', async (t) => {
    const e = await loadError(t, 'sources:\n  - path: /a\n    exclude: "*.tmp"\ndestination: /b\n');
    assert.equal(e.message, 'strata.yaml:3:5: sources[0].exclude: expected a list of strings, got the string "*.tmp"');
  });

  it('wrong type inside a list', async (t) => {
    const e = await loadError(t, 'sources:\n  - path: /a\n    exclude:\n      - ok\n      - 42\ndestination: /b\n');
    assert.equal(e.message, 'strata.yaml:5:9: sources[0].exclude[1]: expected a pattern string, got the number 42');
  });

  it('missing sources', async (t) => {
    const e = await loadError(t, '# my job\ndestination: /b\n');
    assert.equal(e.message, 'strata.yaml:2:1: missing required key "sources"');
  });

  it('sources key without a value', async (t) => {
    const e = await loadError(t, 'destination: /b\nsources:\n');
    assert.equal(e.message, 'strata.yaml:2:1: sources: has no value, and one is required');
  });

  it('empty sources', async (t) => {
    const e = await loadError(t, 'sources: []\ndestination: /b\n');
    assert.equal(e.message, 'strata.yaml:1:1: sources: must list at least one source');
  });

  it('a source without a path', async (t) => {
    const e = await loadError(t, 'sources:\n  - name: docs\ndestination: /b\n');
    assert.equal(e.message, 'strata.yaml:2:5: sources[0]: missing required key "path"');
  });

  it('duplicate source names, explicit and derived', async (t) => {
    const e = await loadError(t, 'sources:\n  - {path: /a, name: x}\n  - {path: /b, name: x}\n  - path: /one/docs\n  - path: /two/docs\ndestination: /b\n');
    assert.match(e.message, /strata\.yaml:3:16: sources\[1\]\.name: duplicate source name "x" \(also used by sources\[0\]\)/);
    assert.match(e.message, /strata\.yaml:5:5: sources\[3\]\.path: this source would be named "docs" after its folder, like sources\[2\]; give one of them an explicit name:/);
  });

  it('bad source name', async (t) => {
    const e = await loadError(t, 'sources:\n  - {path: /a, name: "my docs"}\ndestination: /b\n');
    assert.match(e.message, /strata\.yaml:2:16: sources\[0\]\.name: may contain only letters, digits/);
  });

  it('bad size string', async (t) => {
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\narchive:\n  weekly:\n    volumeSize: 100 potatoes\n');
    assert.match(e.message, /^strata\.yaml:5:5: archive\.weekly\.volumeSize: not a size: "100 potatoes"/);
  });

  it('zero size', async (t) => {
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\narchive:\n  weekly:\n    volumeSize: 0\n');
    assert.match(e.message, /^strata\.yaml:5:5: archive\.weekly\.volumeSize: expected a size of at least 1 byte/);
  });

  it('bad level', async (t) => {
    for (const level of ['12', '-1', '2.5', '"5"']) {
      const e = await loadError(t, `sources: [{path: /a}]\ndestination: /b\narchive:\n  daily:\n    level: ${level}\n`);
      assert.match(e.message, /^strata\.yaml:5:5: archive\.daily\.level: expected a compression level from 0 to 9, got /, level);
    }
  });

  it('bad weekday', async (t) => {
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\nschedule:\n  weeklyOn: funday\n');
    assert.match(e.message, /^strata\.yaml:4:3: schedule\.weeklyOn: expected a weekday \(monday, tuesday, .*sunday\), got the string "funday"/);
  });

  it('bad password block', async (t) => {
    let e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\npassword:\n  command: x\n  env: Y\n');
    assert.match(e.message, /^strata\.yaml:3:1: password: give exactly one of command, file or env \(found 2\)/);
    e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\npassword: hunter2\n');
    assert.match(e.message, /^strata\.yaml:3:1: password: expected a mapping with one of command, file or env, got a string$/);
  });

  it('never shows a password written inline, or any value of the password block', async (t) => {
    for (const value of ['Hunter2-inline-secret', '"Hunter2: inline secret"', '31337424242']) {
      const e = await loadError(t, `sources: [{path: /a}]\ndestination: /b\npassword: ${value}\n`);
      assert.match(e.message, /^strata\.yaml:3:1: password: expected a mapping with one of command, file or env, got a (string|number)$/);
      assert.ok(!/Hunter2|31337/.test(e.message), e.message);
    }
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\npassword:\n  env: 4Hunter2\n');
    assert.ok(!e.message.includes('Hunter2'), e.message);
  });

  it('a structured destination is strict: unknown keys and refused blocks name the key and the line, never a secret', async (t) => {
    let e = await loadError(t, 'sources: [{path: /a}]\ndestination:\n  type: s3\n  bucket: b\n  endpiont: https://h\n');
    assert.match(e.message, /^strata\.yaml:5:3: unknown key "endpiont" in destination \(did you mean "endpoint"\?\)$/);
    e = await loadError(t, 'sources: [{path: /a}]\ndestination:\n  type: s3\n  accessKeyId: AKIDEXAMPLE\n');
    assert.match(e.message, /^strata\.yaml:2:1: destination: s3 destination needs "bucket"$/);
    e = await loadError(t, 'sources: [{path: /a}]\ndestination:\n  type: s3\n  bucket: b\n  secretAccessKey: wJalr/K7MDENG\n');
    assert.match(e.message, /^strata\.yaml:2:1: destination: .*give both accessKeyId and secretAccessKey/);
    assert.ok(!e.message.includes('wJalr'), e.message);
    e = await loadError(t, 'sources: [{path: /a}]\ndestination:\n  type: ftp\n');
    assert.match(e.message, /^strata\.yaml:3:3: destination\.type: expected one of local, s3, webdav or rclone/);
    e = await loadError(t, 'sources: [{path: /a}]\ndestination:\n  type: local\n');
    assert.match(e.message, /^strata\.yaml:2:1: destination: local destination needs "path"$/);
  });

  it('bad destination and staging', async (t) => {
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: [a, b]\nstaging: {maxVolumes: 0}\n');
    assert.match(e.message, /strata\.yaml:2:1: destination: expected a path or URL, or a mapping, got a list/);
    assert.match(e.message, /strata\.yaml:3:11: staging\.maxVolumes: expected a whole number of at least 1, got the number 0/);
  });

  it('protection: a bad percentage, an unknown key and a cross-field rule, each on its line', async (t) => {
    const e = await loadError(
      t,
      [
        'sources: [{path: /a}]',
        'destination: /b',
        'protection:',
        '  tiers:',
        '    daily:',
        '      - name: small',
        '        upTo: 1GiB',
        '        redundancyPercent: 150',
        '      - name: rest',
        '        redundancyPercent: 8',
        '  windowSiz: 10',
        '',
      ].join('\n'),
    );
    assert.match(e.message, /strata\.yaml:8:9: protection\.tiers\.daily\[0\]\.redundancyPercent: expected a percentage above 0 and at most 100, got the number 150/);
    assert.match(e.message, /strata\.yaml:11:3: unknown key "windowSiz" in protection \(did you mean "windowSize"\?\)/);
    const e2 = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\nprotection:\n  windowSize: 4\n  windowSlide: 6\n');
    assert.match(e2.message, /^strata\.yaml:5:3: protection\.windowSlide: windowSlide may not exceed windowSize/);
    const e3 = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\nprotection:\n  tiers:\n    weekly:\n      - {name: a, redundancyPercent: 5}\n      - {name: b, upTo: 1GiB, redundancyPercent: 5}\n');
    assert.match(e3.message, /^strata\.yaml:5:5: protection\.tiers\.weekly: only the last size class has no upper bound/);
    const e4 = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\nprotection: {blockSize: 4098}\n');
    assert.match(e4.message, /protection\.blockSize: blocks\.blockSize must be a multiple of 4/);
  });

  it('YAML syntax error', async (t) => {
    const e = await loadError(t, 'sources:\n  - path: /a\ndestination: [/b\n');
    assert.match(e.message, /^strata\.yaml:4:1: YAML syntax error: Flow sequence/);
  });

  it('a key without the space after its colon: one problem, at its own line, with a snippet and the fix', async (t) => {
    const text = 'sources:\n  - path: /a\n    name: a\njob:default\ndestination: /b\narchive:\n  weekly:\n    level: 3\n';
    const e = await loadError(t, text);
    const lines = e.message.split('\n');
    assert.match(lines[0] ?? '', /^strata\.yaml:4:1: YAML syntax error: /);
    assert.equal(lines[1], '    4 | job:default');
    assert.equal(lines[2], '      | ^');
    assert.equal(lines[3], '    (a key needs a space after its colon: "job: default")');
    assert.equal(lines.length, 4, e.message);
    const e2 = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\narchive:\n  weekly:\n    level:3\n');
    assert.match(e2.message, /^strata\.yaml:4:3: archive\.weekly: .*got the string "level:3" \(a key needs a space after its colon: "level: 3"\)$/);
  });

  it('duplicate YAML key', async (t) => {
    const e = await loadError(t, 'sources: [{path: /a}]\ndestination: /b\ndestination: /c\n');
    assert.match(e.message, /^strata\.yaml:3:1: YAML syntax error: Map keys must be unique/);
  });

  it('an empty file and a non-mapping file', async (t) => {
    let e = await loadError(t, '# nothing\n');
    assert.match(e.message, /strata\.yaml:1:1: the file has no settings/);
    e = await loadError(t, '- a\n- b\n');
    assert.equal(e.message, 'strata.yaml:1:1: expected a mapping of settings, got a list');
  });

  it('lists several problems in file order', async (t) => {
    const e = await loadError(t, 'job: "a b"\nsources:\n  - path: 5\ndestination: /b\narchive: {daily: {level: 10}}\n');
    const lines = e.message.split('\n');
    assert.equal(lines[0], '3 problems in strata.yaml:');
    assert.match(lines[1] ?? '', /^ {2}strata\.yaml:1:1: job: may contain only/);
    assert.match(lines[2] ?? '', /^ {2}strata\.yaml:3:5: sources\[0\]\.path: expected a folder path, got the number 5/);
    assert.match(lines[3] ?? '', /^ {2}strata\.yaml:5:19: archive\.daily\.level: expected a compression level/);
  });

  it('a missing file', async (t) => {
    const dir = await tempDir(t);
    await assert.rejects(loadConfig(path.join(dir, 'nope.yaml'), {}, dir), (e: unknown) => isStrataError(e, 'CONFIG') && /nope\.yaml does not exist/.test(e.message));
  });
});

describe('suggest and keysAt', () => {
  it('suggests close keys only', () => {
    assert.equal(suggest('exlude', ['path', 'name', 'exclude']), 'exclude');
    assert.equal(suggest('Volume-Size', ['level', 'volumeSize']), 'volumeSize');
    assert.equal(suggest('nmae', ['path', 'name', 'exclude']), 'name');
    assert.equal(suggest('compression', ['level', 'volumeSize']), undefined);
  });
  it('knows the keys of each mapping', () => {
    assert.deepEqual(keysAt(['sources', 0]), ['path', 'name', 'exclude']);
    assert.deepEqual(keysAt(['archive', 'monthly']), ['level', 'volumeSize']);
    assert.equal(keysAt(['destination']), undefined);
  });
});

describe('configFromFlags and applyOverrides', () => {
  it('builds a config without a file: names from folders, made unique by a hash of the path', () => {
    const c = configFromFlags({ sources: ['/x/docs', 'docs', '/y/docs/', '/z/my photos'], dest: 'out' }, { HOME: '/h' }, '/work');
    assert.equal(c.job, 'default');
    const h = (p: string): string => createHash('sha256').update(p).digest('hex').slice(0, 6);
    assert.deepEqual(
      c.sources.map((s) => [s.name, s.path]),
      [
        [`docs-${h('/x/docs')}`, '/x/docs'],
        [`docs-${h('/work/docs')}`, '/work/docs'],
        [`docs-${h('/y/docs')}`, '/y/docs'],
        ['my-photos', '/z/my photos'],
      ],
    );
    assert.equal(c.destination, '/work/out');
    assert.deepEqual(c.archive.daily, { level: 5, volumeSize: 50 * MiB });
    assert.deepEqual(c.schedule, { weeklyOn: 'sunday' });
    assert.deepEqual(c.staging, { maxVolumes: 4 });
  });

  it('source names do not depend on the order of --source (issue 7: work/docs and home/docs swapped names)', () => {
    const names = (sources: string[]): Map<string, string> => new Map(configFromFlags({ sources, dest: 'out' }, { HOME: '/h' }, '/u').sources.map((s) => [s.path, s.name]));
    const one = names(['work/docs', 'home/docs', 'music']);
    const other = names(['music', 'home/docs', 'work/docs']);
    assert.deepEqual(one, other);
    assert.notEqual(one.get('/u/work/docs'), one.get('/u/home/docs'));
    assert.equal(one.get('/u/music'), 'music');
    // Stable: the same folder gets the same name on every run, from any working folder.
    assert.equal(names(['/u/work/docs', '/u/home/docs']).get('/u/work/docs'), one.get('/u/work/docs'));
    // The same folder twice is a mistake, not two sources.
    assert.throws(() => configFromFlags({ sources: ['docs', '/u/docs/'], dest: 'out' }, {}, '/u'), (e: unknown) => isStrataError(e, 'USAGE') && /given twice/.test(e.message));
  });

  it('applies --volume-size and --level', () => {
    const c = configFromFlags({ sources: ['/a'], dest: 's3://b/p', volumeSize: '2MiB', level: '9' }, {}, '/');
    for (const tier of ['daily', 'weekly', 'monthly', 'yearly'] as const) assert.deepEqual(c.archive[tier], { level: 9, volumeSize: 2 * MiB });
    assert.equal(c.destination, 's3://b/p');
  });

  it('refuses missing or bad flags with USAGE', () => {
    const usage = (re: RegExp) => (e: unknown) => isStrataError(e, 'USAGE') && re.test(e.message);
    assert.throws(() => configFromFlags({ sources: [], dest: '/b' }), usage(/no --source/));
    assert.throws(() => configFromFlags({ sources: ['/a'], dest: undefined }), usage(/no --dest/));
    assert.throws(() => configFromFlags({ sources: [''], dest: '/b' }), usage(/--source "": must not be empty/));
    assert.throws(() => configFromFlags({ sources: ['/a'], dest: '/b', volumeSize: 'big' }), usage(/--volume-size: not a size/));
    assert.throws(() => configFromFlags({ sources: ['/a'], dest: '/b', level: '10' }), usage(/--level: expected a compression level from 0 to 9/));
  });

  it('overrides a loaded config without changing it', () => {
    const base = configFromFlags({ sources: ['/a'], dest: '/b' }, {}, '/');
    const c = applyOverrides(base, { level: 0 });
    assert.equal(c.archive.weekly.level, 0);
    assert.equal(c.archive.weekly.volumeSize, 100 * MiB);
    assert.equal(base.archive.weekly.level, 5);
    assert.deepEqual(applyOverrides(base, {}), base);
  });
});

describe('findConfig', () => {
  it('prefers --config, then STRATA_CONFIG, then ./strata.yaml if present', async (t) => {
    const dir = await tempDir(t);
    assert.equal(await findConfig(undefined, {}, dir), undefined);
    await writeFile(path.join(dir, 'strata.yaml'), 'x');
    assert.equal(await findConfig(undefined, {}, dir), path.join(dir, 'strata.yaml'));
    assert.equal(await findConfig(undefined, { STRATA_CONFIG: 'env.yaml' }, dir), path.join(dir, 'env.yaml'));
    assert.equal(await findConfig('flag.yaml', { STRATA_CONFIG: 'env.yaml' }, dir), path.join(dir, 'flag.yaml'));
    assert.equal(configFilePath(undefined, {}, dir), path.join(dir, 'strata.yaml'));
    await mkdir(path.join(dir, 'sub'));
    assert.equal(await findConfig(undefined, {}, path.join(dir, 'sub')), undefined);
  });
});
