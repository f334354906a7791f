/** Tests of destination parsing and redaction (src/core/destination.ts): every accepted form, the
 * errors for wrong ones, and that printed descriptions never show credentials. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DESTINATION_BLOCK_KEYS, DESTINATION_KINDS, describeDestination, destinationBlockSchema, parseDestination, redact, storageClassFor } from '../../src/core/destination.js';
import { isStrataError } from '../../src/errors.js';

describe('parseDestination', () => {
  it('parses local paths and file URLs', () => {
    for (const p of ['/srv/backup', './rel', '../up', '~/b', 'plain/rel']) assert.deepEqual(parseDestination(p), { kind: 'local', path: p });
    assert.deepEqual(parseDestination('file:///mnt/my%20disk/b'), { kind: 'local', path: '/mnt/my disk/b' });
  });

  it('parses s3 URLs with options and per-tier storage classes', () => {
    const d = parseDestination('s3://bkt/a/b/?endpoint=127.0.0.1:7480&region=eu-1&pathStyle=true&profile=work&storageClass=STANDARD_IA&storageClass.yearly=GLACIER');
    assert.deepEqual(d, { kind: 's3', bucket: 'bkt', prefix: 'a/b', endpoint: 'https://127.0.0.1:7480', region: 'eu-1', pathStyle: true, profile: 'work', storageClass: 'STANDARD_IA', storageClasses: { yearly: 'GLACIER' } });
    assert.equal(d.kind === 's3' ? storageClassFor(d, 'yearly') : '', 'GLACIER');
    assert.equal(d.kind === 's3' ? storageClassFor(d, 'daily') : '', 'STANDARD_IA');
    assert.deepEqual(parseDestination('s3://bkt'), { kind: 's3', bucket: 'bkt', prefix: '' });
    assert.throws(() => parseDestination('s3://bkt/x?endpont=x'), (e) => isStrataError(e, 'USAGE'));
  });

  it('refuses a per-tier storage class for a tier that does not exist (a misspelt tier would never apply)', () => {
    for (const bad of ['s3://bkt/x?storageClass.montly=GLACIER', 's3://bkt/x?storageClass.=GLACIER', 's3://bkt/x?storageClass.cold=GLACIER']) {
      assert.throws(() => parseDestination(bad), (e) => isStrataError(e, 'USAGE') && /names no tier/.test(e.message) && /monthly/.test(e.hint ?? ''), bad);
    }
    assert.throws(() => parseDestination({ type: 's3', bucket: 'b', storageClasses: { weekley: 'GLACIER' } }), (e) => isStrataError(e, 'USAGE') && /names no tier/.test(e.message));
  });

  it('parses the structured s3 block with keys', () => {
    const d = parseDestination({ type: 's3', bucket: 'b', prefix: '/p/', endpoint: 'http://h:9000', pathStyle: true, accessKeyId: 'AK', secretAccessKey: 'SK', storageClasses: { monthly: 'DEEP_ARCHIVE' } });
    assert.deepEqual(d, { kind: 's3', bucket: 'b', prefix: 'p', endpoint: 'http://h:9000', pathStyle: true, accessKeyId: 'AK', secretAccessKey: 'SK', storageClasses: { monthly: 'DEEP_ARCHIVE' } });
    assert.throws(() => parseDestination({ type: 's3', bucket: 'b', accessKeyId: 'AK' }), (e) => isStrataError(e, 'USAGE'));
  });

  it('parses WebDAV URLs and aliases', () => {
    assert.deepEqual(parseDestination('webdav+https://u%40x:p%3Aw@dav.example.com/remote.php/dav/files/u/b'), { kind: 'webdav', url: 'https://dav.example.com/remote.php/dav/files/u/b/', username: 'u@x', password: 'p:w' });
    assert.deepEqual(parseDestination('webdavs://h/x/'), { kind: 'webdav', url: 'https://h/x/' });
    assert.deepEqual(parseDestination('webdav+http://h:8081'), { kind: 'webdav', url: 'http://h:8081/' });
    assert.deepEqual(parseDestination({ type: 'webdav', url: 'https://h/d', username: 'u', password: 'p' }), { kind: 'webdav', url: 'https://h/d/', username: 'u', password: 'p' });
  });

  it('parses rclone paths and rejects unknown forms', () => {
    assert.deepEqual(parseDestination('rclone:gdrive:backups/strata'), { kind: 'rclone', target: 'gdrive:backups/strata' });
    assert.deepEqual(parseDestination({ type: 'rclone', remote: 'od', path: 'b' }), { kind: 'rclone', target: 'od:b' });
    for (const bad of ['', 'rclone:nocolon', 'gdrive:backups', 'https://h/x', 'ftp://h/x']) {
      assert.throws(() => parseDestination(bad), (e) => isStrataError(e, 'USAGE'), bad);
    }
  });
});

describe('redact and describeDestination', () => {
  it('hides passwords, secret keys and token-like query values', () => {
    assert.equal(redact('webdav+https://user:hunter2@h/p'), 'webdav+https://user:***@h/p');
    assert.equal(redact('s3://AKIA:SECRET@b/p?region=x&secretAccessKey=S2&X-Amz-Signature=abc&token=t'), 's3://***@b/p?region=x&secretAccessKey=***&X-Amz-Signature=***&token=***');
    assert.equal(redact('rclone::webdav,url=h,pass=abc,user=u:path'), 'rclone::webdav,url=h,pass=***,user=u:path');
    assert.equal(redact('/plain/path'), '/plain/path');
  });

  it('hides user-info secrets that hold "/", "?", "#" or "@" (they make the URL invalid, and then it is printed)', () => {
    assert.equal(redact('s3://AKID:wJal/K7MD@bucket/p'), 's3://***@bucket/p');
    assert.equal(redact('s3://AKID:wJal/K7MD+q?x#y@bucket/p?region=r'), 's3://***@bucket/p?region=r');
    assert.equal(redact('webdav+http://alice:pa#ss@host/x'), 'webdav+http://alice:***@host/x');
    assert.equal(redact('webdav+https://alice:p/a?s@s@host/x'), 'webdav+https://alice:***@host/x');
    // A bare user name is not a secret; an "@" in a query is not user-info.
    assert.equal(redact('webdav+https://alice@host/x'), 'webdav+https://alice@host/x');
    assert.equal(redact('s3://bucket/p?region=a@b'), 's3://bucket/p?region=a@b');
  });

  it('hides rclone option values with digits or "_" in their names, URLs inside options, and secrets in rclone messages', () => {
    assert.equal(redact('rclone::webdav,url="http://u:SECRET@h/dav":dir'), 'rclone::webdav,url="http://u:***@h/dav":dir');
    assert.equal(redact('rclone::s3,sse_customer_key_base64=QUJDRA,region=x:b'), 'rclone::s3,sse_customer_key_base64=***,region=x:b');
    assert.equal(redact('rclone::s3,secret_access_key="wJal/K7:MD":b'), 'rclone::s3,secret_access_key=***:b');
    const stderr = 'ERROR : Failed to create file system for ":s3,secret_access_key=wJal/K7MD,env_auth=false:b": pass=0bScUr3d rejected';
    const shown = redact(stderr);
    for (const s of ['wJal', 'K7MD', '0bScUr3d']) assert.ok(!shown.includes(s), `${shown} shows ${s}`);
    assert.ok(shown.includes('Failed to create file system'), shown);
  });

  it('prints no credentials for any destination', () => {
    const secrets = ['hunter2', 'SECRETKEY', 'AKIDEXAMPLE', 'tok123'];
    const dests = [
      parseDestination('webdav+https://me:hunter2@h/p'),
      parseDestination('s3://AKIDEXAMPLE:SECRETKEY@b/p?endpoint=https://h&sessionToken=tok123'),
      parseDestination('rclone::s3,secret_access_key=SECRETKEY,access_key_id=AKIDEXAMPLE:b'),
    ];
    for (const d of dests) {
      const text = describeDestination(d);
      for (const s of secrets) assert.ok(!text.includes(s), `${text} shows ${s}`);
    }
    assert.equal(describeDestination(dests[0]!), 'webdav+https://me@h/p/');
  });
});

describe('destinationBlockSchema (one discriminated union for the config and the parser)', () => {
  it('the kinds and keys the config checks are the union\'s', () => {
    assert.deepEqual(DESTINATION_KINDS, ['local', 's3', 'webdav', 'rclone']);
    assert.deepEqual(DESTINATION_BLOCK_KEYS['rclone'], ['type', 'remote', 'path']);
    assert.ok(DESTINATION_BLOCK_KEYS['s3']?.includes('storageClasses'));
    assert.equal(destinationBlockSchema.safeParse({ type: 's3', bucket: 'b', endpiont: 'x' }).success, false);
  });

  it('a key of the wrong type, an unknown key or kind is refused by parseDestination too; kind: works as type:', () => {
    assert.throws(() => parseDestination({ type: 's3', bucket: 'b', region: 3 }), (e) => isStrataError(e, 'USAGE') && e.message === 'destination: "region" must be a string');
    assert.throws(() => parseDestination({ type: 's3', bucket: 'b', pathStyle: 'yes' }), (e) => isStrataError(e, 'USAGE') && /"pathStyle" must be true or false/.test(e.message));
    assert.throws(() => parseDestination({ type: 'rclone', remote: 'r', bucket: 'b' }), (e) => isStrataError(e, 'USAGE') && /unknown key "bucket"/.test(e.message));
    assert.throws(() => parseDestination({ type: 'ftp' }), (e) => isStrataError(e, 'USAGE') && /unknown destination type "ftp"/.test(e.message));
    assert.throws(() => parseDestination({ type: 'local' }), (e) => isStrataError(e, 'USAGE') && e.message === 'local destination needs "path"');
    assert.deepEqual(parseDestination({ kind: 'local', path: '/b' }), { kind: 'local', path: '/b' });
    assert.deepEqual(parseDestination({ url: 's3://b/p' }), { kind: 's3', bucket: 'b', prefix: 'p' });
  });
});
