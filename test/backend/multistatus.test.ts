/**
 * backend/multistatus: WebDAV 207 answers as Apache mod_dav, Nextcloud and ownCloud send them —
 * prefixes `D:`/`d:`/`lp1:`/`x1:` and default namespaces, several propstat blocks (only 2xx count),
 * absolute hrefs, percent- and entity-encoded hrefs, collections — read with a real XML parser.
 * The Apache answers are recorded from the test server (Apache 2.4 mod_dav_fs); the Nextcloud and
 * ownCloud ones follow what their sabre/dav servers send.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isStrataError } from '../../src/errors.js';
import { parseMultistatus, proppatchStored } from '../../src/backend/multistatus.js';

const SHA = 'ab'.repeat(32);

const APACHE_PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns1="urn:x-strata:" xmlns:ns0="DAV:">
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:g0="DAV:" xmlns:g1="urn:x-strata:">
<D:href>/probe/</D:href>
<D:propstat>
<D:prop>
<lp1:resourcetype><D:collection/></lp1:resourcetype>
<lp1:getlastmodified>Sun, 06 Dec 2026 23:30:23 GMT</lp1:getlastmodified>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
<D:propstat>
<D:prop>
<g0:getcontentlength/>
<g1:sha256/>
</D:prop>
<D:status>HTTP/1.1 404 Not Found</D:status>
</D:propstat>
</D:response>
<D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/" xmlns:ns0="DAV:" xmlns:ns1="urn:x-strata:">
<D:href>/probe/a%20b&amp;c.txt</D:href>
<D:propstat>
<D:prop>
<lp1:resourcetype/>
<lp1:getcontentlength>3</lp1:getcontentlength>
<lp1:getlastmodified>Sun, 06 Dec 2026 23:30:22 GMT</lp1:getlastmodified>
<ns1:sha256>${SHA}</ns1:sha256>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
</D:multistatus>
`;

const APACHE_PROPPATCH = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns1="urn:x-strata:" xmlns:ns0="DAV:">
<D:response>
<D:href>/probe/a%20b&amp;c.txt</D:href>
<D:propstat>
<D:prop>
<ns1:sha256/>
</D:prop>
<D:status>HTTP/1.1 200 OK</D:status>
</D:propstat>
</D:response>
</D:multistatus>
`;

const NEXTCLOUD_PROPFIND = `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:response><d:href>/remote.php/dav/files/alice/Backups/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype><d:getlastmodified>Thu, 01 Jan 2026 10:00:00 GMT</d:getlastmodified></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><d:getcontentlength/><x1:sha256 xmlns:x1="urn:x-strata:"/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response><d:response><d:href>/remote.php/dav/files/alice/Backups/260101_FULL_docs/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/></d:resourcetype><d:getlastmodified>Thu, 01 Jan 2026 10:00:00 GMT</d:getlastmodified></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><d:getcontentlength/><x1:sha256 xmlns:x1="urn:x-strata:"/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response><d:response><d:href>/remote.php/dav/files/alice/Backups/caf%c3%a9%20%2b%20%23notes.txt</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>1048576</d:getcontentlength><d:getlastmodified>Thu, 01 Jan 2026 10:00:01 GMT</d:getlastmodified><x1:sha256 xmlns:x1="urn:x-strata:">${SHA}</x1:sha256></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response><d:response><d:href>/remote.php/dav/files/alice/Backups/plain.bin</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>0</d:getcontentlength><d:getlastmodified>Thu, 01 Jan 2026 10:00:02 GMT</d:getlastmodified></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat><d:propstat><d:prop><x1:sha256 xmlns:x1="urn:x-strata:"/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response></d:multistatus>`;

const NEXTCLOUD_PROPPATCH_REFUSED = `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns"><d:response><d:href>/remote.php/dav/files/alice/Backups/x</d:href><d:propstat><d:prop><x1:sha256 xmlns:x1="urn:x-strata:"/></d:prop><d:status>HTTP/1.1 403 Forbidden</d:status></d:propstat></d:response></d:multistatus>`;

// ownCloud 10 (classic WebDAV endpoint), with hrefs as absolute URLs (as some proxies rewrite them)
// and ownCloud's own properties beside strata's — including a `sha256`-named one of another namespace.
const OWNCLOUD_PROPFIND = `<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns" xmlns:oc="http://owncloud.org/ns">
  <d:response>
    <d:href>https://cloud.example.org:8443/remote.php/webdav/Backups/set%201/</d:href>
    <d:propstat>
      <d:prop><d:resourcetype><d:collection/></d:resourcetype><d:getlastmodified>Fri, 02 Jan 2026 08:00:00 GMT</d:getlastmodified></d:prop>
      <d:status>HTTP/1.1 200 OK</d:status>
    </d:propstat>
  </d:response>
  <d:response>
    <d:href>https://cloud.example.org:8443/remote.php/webdav/Backups/set%201/v.7z.001</d:href>
    <d:propstat>
      <d:prop>
        <d:resourcetype/>
        <d:getcontentlength>52428800</d:getcontentlength>
        <d:getlastmodified>Fri, 02 Jan 2026 08:00:05 GMT</d:getlastmodified>
        <oc:sha256>${'cd'.repeat(32)}</oc:sha256>
      </d:prop>
      <d:status>HTTP/1.1 200 OK</d:status>
    </d:propstat>
    <d:propstat>
      <d:prop><x1:sha256 xmlns:x1="urn:x-strata:"/></d:prop>
      <d:status>HTTP/1.1 404 Not Found</d:status>
    </d:propstat>
  </d:response>
</d:multistatus>`;

// A server that puts DAV: in the default namespace (lighttpd, several NAS boxes).
const DEFAULT_NS_PROPFIND = `<?xml version="1.0" encoding="utf-8"?>
<multistatus xmlns="DAV:">
<response><href>/dav/a/</href><propstat><prop><resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response>
<response><href>/dav/a/b&#x26;c%3F.txt</href><propstat><prop><resourcetype/><getcontentlength>12</getcontentlength><sha256 xmlns="urn:x-strata:">${SHA}</sha256></prop><status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>`;

describe('parseMultistatus', () => {
  it('Apache mod_dav: lp1/ns1/g1 prefixes, a 404 propstat beside the 200 one, an encoded href', () => {
    const [dir, file] = parseMultistatus(APACHE_PROPFIND);
    assert.deepEqual(dir, { path: '/probe/', collection: true, size: 0, modified: new Date('2026-12-06T23:30:23Z') });
    assert.deepEqual(file, { path: '/probe/a b&c.txt', collection: false, size: 3, sha256: SHA, modified: new Date('2026-12-06T23:30:22Z') });
  });

  it('Nextcloud: d: prefix, x1: declared on the property, lower-case percent-encoding, properties missing in 404 blocks', () => {
    const entries = parseMultistatus(NEXTCLOUD_PROPFIND);
    assert.deepEqual(
      entries.map((e) => [e.path, e.collection, e.size, e.sha256]),
      [
        ['/remote.php/dav/files/alice/Backups/', true, 0, undefined],
        ['/remote.php/dav/files/alice/Backups/260101_FULL_docs/', true, 0, undefined],
        ['/remote.php/dav/files/alice/Backups/café + #notes.txt', false, 1048576, SHA],
        ['/remote.php/dav/files/alice/Backups/plain.bin', false, 0, undefined],
      ],
    );
  });

  it('ownCloud: absolute hrefs become paths; a sha256 property of another namespace is not strata\'s', () => {
    const [dir, vol] = parseMultistatus(OWNCLOUD_PROPFIND);
    assert.equal(dir?.path, '/remote.php/webdav/Backups/set 1/');
    assert.equal(dir?.collection, true);
    assert.equal(vol?.path, '/remote.php/webdav/Backups/set 1/v.7z.001');
    assert.equal(vol?.size, 52428800);
    assert.equal(vol?.sha256, undefined, 'oc:sha256 is ownCloud\'s, not {urn:x-strata:}sha256');
  });

  it('DAV: as the default namespace, numeric character references in hrefs', () => {
    const [dir, file] = parseMultistatus(DEFAULT_NS_PROPFIND);
    assert.equal(dir?.collection, true);
    assert.deepEqual([file?.path, file?.size, file?.sha256, file?.collection], ['/dav/a/b&c?.txt', 12, SHA, false]);
  });

  it('properties only in a failed propstat do not count', () => {
    const xml = `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/x</D:href>
      <D:propstat><D:prop><D:getcontentlength>99</D:getcontentlength><S:sha256 xmlns:S="urn:x-strata:">${SHA}</S:sha256><D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>
      <D:propstat><D:prop><D:getcontentlength>7</D:getcontentlength></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`;
    assert.deepEqual(parseMultistatus(xml), [{ path: '/x', collection: false, size: 7 }]);
  });

  it('an answer that is not XML is a retriable BACKEND error; one without responses has no entries', () => {
    assert.throws(() => parseMultistatus('<D:multistatus xmlns:D="DAV:"><D:response></D:multistatus'), (e) => isStrataError(e, 'BACKEND') && e.retriable);
    assert.deepEqual(parseMultistatus('<?xml version="1.0"?><D:multistatus xmlns:D="DAV:"/>'), []);
  });
});

describe('proppatchStored', () => {
  it('Apache: the property set (200); Nextcloud refusing it (403) is not stored', () => {
    assert.equal(proppatchStored(APACHE_PROPPATCH), true);
    assert.equal(proppatchStored(NEXTCLOUD_PROPPATCH_REFUSED), false);
    assert.equal(proppatchStored('<html><body>Method Not Allowed</body></html>'), false);
  });
});
