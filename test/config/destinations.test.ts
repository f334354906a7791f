/**
 * `destinations:` (issue 10, a second provider): named destinations, the first the primary; a
 * single `destination:` stays what it was (one destination named "default"); both at once, a
 * duplicate name, an entry without a destination or with a misspelt key are refused with their line;
 * each entry's retention is its own keys over the job's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { destinationsOf } from '../../src/config/schema.js';
import { isStrataError } from '../../src/errors.js';

const opts = { baseDir: '/etc/strata', env: { HOME: '/home/me' } };

function refused(text: string): string {
  try {
    parseConfigText(text, 'strata.yaml', opts);
  } catch (e) {
    assert.ok(isStrataError(e, 'CONFIG'), String(e));
    return e.message;
  }
  assert.fail('the config was accepted');
}

describe('config destinations:', () => {
  it('names destinations, the first is the primary, retention falls back key by key to the job\'s', () => {
    const c = parseConfigText(
      [
        'sources: [{ path: /data/docs }]',
        'destinations:',
        '  - { name: nas, path: ../nas }',
        '  - name: offsite',
        '    type: s3',
        '    bucket: b',
        '    endpoint: http://127.0.0.1:7480',
        '    retention: { daily: 14d }',
        '  - { name: dav, url: "webdav+https://h/p" }',
        'retention: { daily: 30d, weekly: 10w }',
        'replicate: after-backup',
      ].join('\n'),
      'strata.yaml',
      opts,
    );
    assert.equal(c.destination, '/etc/nas');
    assert.equal(c.replicate, 'after-backup');
    const ds = destinationsOf(c);
    assert.deepEqual(ds.map((d) => d.name), ['nas', 'offsite', 'dav']);
    assert.equal(ds[0]?.destination, '/etc/nas');
    assert.deepEqual(ds[1]?.destination, { type: 's3', bucket: 'b', endpoint: 'http://127.0.0.1:7480' });
    assert.equal(ds[2]?.destination, 'webdav+https://h/p');
    assert.deepEqual(ds[1]?.retention.tiers.daily, { n: 14, unit: 'd' });
    assert.deepEqual(ds[1]?.retention.tiers.weekly, { n: 10, unit: 'w' });
    assert.deepEqual(ds[0]?.retention.tiers.daily, { n: 30, unit: 'd' });
    assert.deepEqual(c.retention, ds[0]?.retention);
  });

  it('keeps a single destination: as it was, named "default"', () => {
    const c = parseConfigText('sources: [{ path: /a }]\ndestination: /b\n', 'strata.yaml', opts);
    assert.equal(c.destinations, undefined);
    assert.equal(c.replicate, undefined);
    assert.deepEqual(destinationsOf(c).map((d) => [d.name, d.destination]), [['default', '/b']]);
  });

  it('refuses both at once, with the line', () => {
    const m = refused('sources: [{ path: /a }]\ndestination: /b\ndestinations:\n  - { name: x, path: /c }\n');
    assert.match(m, /strata\.yaml:3:1: .*give either destination: \(one\) or destinations: \(a list, the first the primary\), not both/);
  });

  it('refuses duplicate names, an entry without a destination, a misspelt key, a bad name and bad retention', () => {
    const m = refused(
      [
        'sources: [{ path: /a }]',
        'destinations:',
        '  - { name: nas, path: /n }',
        '  - { name: nas, path: /m }',
        '  - { name: empty }',
        '  - { name: s3, type: s3, bucket: b, endpiont: http://x }',
        '  - { name: "a b", path: /o }',
        '  - { name: r, path: /r, retention: { daily: 2d } }',
        'replicate: sometimes',
      ].join('\n'),
    );
    assert.match(m, /strata\.yaml:4:\d+: .*duplicate destination name "nas" \(also used by destinations\[0\]\)/);
    assert.match(m, /strata\.yaml:5:\d+: .*needs a destination: path, url, or type with its keys/);
    assert.match(m, /strata\.yaml:6:\d+: .*unknown key "endpiont"/);
    assert.match(m, /strata\.yaml:7:\d+: .*may contain only letters/);
    assert.match(m, /strata\.yaml:8:\d+: .*daily/);
    assert.match(m, /strata\.yaml:9:\d+: .*replicate.*expected one of manual, after-backup/);
  });
});
