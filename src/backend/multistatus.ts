/**
 * backend/multistatus: reading WebDAV 207 Multi-Status answers (PROPFIND, PROPPATCH) with a real
 * XML parser (fast-xml-parser) and XML namespaces resolved, so that what servers really send is
 * read right: any prefix (`D:`, `d:`, `lp1:`) or a default `xmlns`, several `<propstat>` blocks of
 * which only the 2xx ones count (a 404 block lists the properties a resource does not have),
 * absolute hrefs with scheme and host, percent-encoded and entity-encoded hrefs, collections.
 * Pure: no IO.
 */
import { XMLParser } from 'fast-xml-parser';
import { StrataError, errorMessage } from '../errors.js';

/** STRATA_NS is the namespace of strata's dead property (`{urn:x-strata:}sha256`). */
export const STRATA_NS = 'urn:x-strata:';
const DAV = 'DAV:';

/** DavEntry is one <response> of a PROPFIND answer. */
export interface DavEntry {
  /** Decoded absolute path (an absolute href is reduced to its path). */
  path: string;
  collection: boolean;
  /** getcontentlength of a 2xx propstat; 0 when the server gave none (collections). */
  size: number;
  /** strata's SHA-256 property, when the server keeps it and it is a SHA-256. */
  sha256?: string;
  modified?: Date;
}

/** XmlElement is an element with its namespace resolved. */
interface XmlElement {
  ns: string;
  name: string;
  text: string;
  children: XmlElement[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  // Entities are decoded below in one pass (the five of XML and numeric references such as &#x20;);
  // a DOCTYPE's own entities are never expanded.
  processEntities: false,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

type Raw = Record<string, unknown>;

/** resolve turns fast-xml-parser's prefixed keys into elements with namespaces, declarations scoped. */
function resolve(key: string, value: unknown, scope: ReadonlyMap<string, string>): XmlElement {
  const local = new Map(scope);
  const node: Raw = typeof value === 'object' && value !== null ? (value as Raw) : { '#text': value };
  for (const [k, v] of Object.entries(node)) {
    if (k === '@_xmlns') local.set('', String(v));
    else if (k.startsWith('@_xmlns:')) local.set(k.slice('@_xmlns:'.length), String(v));
  }
  const colon = key.indexOf(':');
  const prefix = colon < 0 ? '' : key.slice(0, colon);
  const el: XmlElement = { ns: local.get(prefix) ?? '', name: colon < 0 ? key : key.slice(colon + 1), text: '', children: [] };
  for (const [k, v] of Object.entries(node)) {
    if (k === '#text') el.text = typeof v === 'string' || typeof v === 'number' ? decodeEntities(String(v)) : '';
    else if (!k.startsWith('@_')) for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) el.children.push(resolve(k, item, local));
  }
  return el;
}

/** decodeEntities decodes XML's predefined entities and numeric character references. */
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (m, e: string) => {
    const l = e.toLowerCase();
    if (l === 'amp') return '&';
    if (l === 'lt') return '<';
    if (l === 'gt') return '>';
    if (l === 'quot') return '"';
    if (l === 'apos') return "'";
    const code = l.startsWith('#x') ? parseInt(l.slice(2), 16) : parseInt(l.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : m;
  });
}

function parse(xml: string): XmlElement[] {
  let doc: Raw;
  try {
    doc = parser.parse(xml) as Raw;
  } catch (e) {
    throw new StrataError('BACKEND', `the WebDAV server's answer is not well-formed XML: ${errorMessage(e)}`, { cause: e, retriable: true });
  }
  const out: XmlElement[] = [];
  for (const [k, v] of Object.entries(doc)) {
    if (k.startsWith('?') || k.startsWith('@_') || k === '#text') continue;
    for (const item of Array.isArray(v) ? (v as unknown[]) : [v]) out.push(resolve(k, item, new Map()));
  }
  return out;
}

function kids(el: XmlElement | undefined, ns: string, name: string): XmlElement[] {
  return el === undefined ? [] : el.children.filter((c) => c.ns === ns && c.name === name);
}

function kid(el: XmlElement | undefined, ns: string, name: string): XmlElement | undefined {
  return kids(el, ns, name)[0];
}

/** responses returns the <response> elements of a multistatus document. */
function responses(xml: string): XmlElement[] {
  return parse(xml)
    .filter((e) => e.ns === DAV && e.name === 'multistatus')
    .flatMap((m) => kids(m, DAV, 'response'));
}

/** isSuccess reads a `HTTP/1.1 200 OK` status line: true for 2xx. */
function isSuccess(status: XmlElement | undefined): boolean {
  return status !== undefined && /^HTTP\/\d(?:\.\d)?\s+2\d\d\b/i.test(status.text);
}

/** goodProps are the <prop> children of a response's 2xx propstat blocks. */
function goodProps(response: XmlElement): XmlElement[] {
  return kids(response, DAV, 'propstat')
    .filter((ps) => isSuccess(kid(ps, DAV, 'status')))
    .flatMap((ps) => kids(ps, DAV, 'prop'))
    .flatMap((p) => p.children);
}

/** hrefPath reduces an href (entities already decoded) to a decoded absolute path. */
function hrefPath(href: string): string {
  let p = href.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) {
    try {
      p = new URL(p).pathname;
    } catch {
      // Not a URL after all: taken as a path.
    }
  }
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** parseMultistatus reads the entries of a PROPFIND 207 Multi-Status body. */
export function parseMultistatus(xml: string): DavEntry[] {
  const out: DavEntry[] = [];
  for (const r of responses(xml)) {
    const href = kid(r, DAV, 'href');
    if (href === undefined || href.text === '') continue;
    const props = goodProps(r);
    const prop = (ns: string, name: string): XmlElement | undefined => props.find((p) => p.ns === ns && p.name === name);
    const length = /^\d+$/.exec(prop(DAV, 'getcontentlength')?.text ?? '')?.[0];
    const entry: DavEntry = {
      path: hrefPath(href.text),
      collection: kid(prop(DAV, 'resourcetype'), DAV, 'collection') !== undefined,
      size: length === undefined ? 0 : Number(length),
    };
    const sha = prop(STRATA_NS, 'sha256')?.text.toLowerCase();
    if (sha !== undefined && /^[0-9a-f]{64}$/.test(sha)) entry.sha256 = sha;
    const modified = prop(DAV, 'getlastmodified')?.text;
    if (modified !== undefined && modified !== '') {
      const d = new Date(modified);
      if (!Number.isNaN(d.getTime())) entry.modified = d;
    }
    out.push(entry);
  }
  return out;
}

/** proppatchStored tells whether a PROPPATCH answer says strata's SHA-256 property was set: a 2xx
 * propstat that names it (or, from servers that list no properties, any 2xx propstat). */
export function proppatchStored(xml: string): boolean {
  let parsed: XmlElement[];
  try {
    parsed = responses(xml);
  } catch {
    return false;
  }
  return parsed.some((r) =>
    kids(r, DAV, 'propstat').some((ps) => {
      if (!isSuccess(kid(ps, DAV, 'status'))) return false;
      const named = kids(ps, DAV, 'prop').flatMap((p) => p.children);
      return named.length === 0 || named.some((p) => p.ns === STRATA_NS && p.name === 'sha256');
    }),
  );
}
