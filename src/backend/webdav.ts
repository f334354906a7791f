/**
 * backend/webdav: a Backend on a WebDAV server (Nextcloud, ownCloud, Apache mod_dav, NAS boxes)
 * spoken directly over node:http/https, because the npm clients drop Content-Length on streamed
 * bodies (sending chunked, which many servers refuse or buffer) and hide 412s.
 *
 * Why it is built the way it is:
 * - Uploads go to a hidden temporary name in the target folder, are hashed while streaming, and
 *   only then MOVEd onto the key (`Overwrite: F` unless overwriting), so a failed or damaged upload
 *   never shows under the key and the final step is one server-side rename.
 * - Bodies are streamed with an explicit Content-Length: volumes are hundreds of MB.
 * - The SHA-256 is kept as a dead property (`{urn:x-strata:}sha256`, PROPPATCH) when the server
 *   supports properties, so stat() and list() can report it without reading the data.
 * - Folders are created parents first (MKCOL answers 409 without a parent, 405 when it exists).
 * - list() walks folders with PROPFIND Depth 1, which every server allows (Depth infinity is
 *   often disabled).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Readable, Transform } from 'node:stream';
import { StrataError, errnoCode, errorMessage, isStrataError } from '../errors.js';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from './backend.js';
import { validateKey } from './keys.js';
import { checkSha256, hashingSource } from '../io/hash.js';
import { TMP_PREFIX, isLeftoverTemp, tempName } from './tempnames.js';
import { STRATA_NS, parseMultistatus, proppatchStored } from './multistatus.js';

const NS = STRATA_NS;

/** WebDavBackendOptions configure one WebDAV folder. */
export interface WebDavBackendOptions {
  /** http(s) URL of the folder (credentials are not taken from it; use username/password). */
  url: string;
  username?: string;
  password?: string;
  /** Socket idle timeout per request (default 120 s). */
  timeoutMs?: number;
  /** Parallel connections per server (default 16). */
  maxSockets?: number;
  /** Printed description (must be redacted); default the URL with the user name only. */
  description?: string;
  /** Receives one-time warnings (e.g. the server keeps no properties). */
  onWarning?: (message: string) => void;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** Node's codes for a certificate this machine does not trust (or that does not fit the host):
 *  retrying cannot help, the user has to act. */
const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_REJECTED',
]);

/** WebDavBackend stores objects as files under a WebDAV folder. */
export class WebDavBackend implements Backend {
  readonly description: string;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly auth: string | undefined;
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly timeoutMs: number;
  private readonly dirs = new Map<string, Promise<void>>();
  private props: boolean | undefined;

  constructor(private readonly options: WebDavBackendOptions) {
    const u = new URL(options.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new StrataError('USAGE', `WebDAV URL must be http(s): ${u.protocol}`);
    u.username = '';
    u.password = '';
    u.hash = '';
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u;
    this.basePath = safeDecode(u.pathname);
    this.auth = options.username !== undefined ? `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}` : undefined;
    this.mod = u.protocol === 'https:' ? https : http;
    const agentOpts = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
    this.agent = u.protocol === 'https:' ? new https.Agent(agentOpts) : new http.Agent(agentOpts);
    this.timeoutMs = options.timeoutMs ?? 120_000;
    const user = options.username !== undefined ? `${encodeURIComponent(options.username)}@` : '';
    this.description = options.description ?? `webdav+${u.protocol.slice(0, -1)}://${user}${u.host}${u.pathname}`;
  }

  /** url maps a key (or a folder key ending in '/') to its URL. */
  private url(rel: string): URL {
    return new URL(rel.split('/').map(encodeURIComponent).join('/'), this.base);
  }

  private request(method: string, url: URL, headers: Record<string, string | number> = {}, body?: string | Readable, signal?: AbortSignal): Promise<Response> {
    return new Promise((resolve, reject) => {
      const h: Record<string, string | number> = { ...headers };
      if (this.auth !== undefined) h['Authorization'] = this.auth;
      if (typeof body === 'string') {
        h['Content-Type'] ??= 'application/xml; charset=utf-8';
        h['Content-Length'] = Buffer.byteLength(body);
      }
      const req = this.mod.request(url, { method, headers: h, agent: this.agent, signal });
      let done = false;
      const fail = (e: unknown): void => {
        if (done) return;
        done = true;
        reject(this.networkError(e, `${method} ${this.show(url)}`));
      };
      req.setTimeout(this.timeoutMs, () => req.destroy(new StrataError('BACKEND', `${method} ${this.show(url)}: timed out after ${this.timeoutMs} ms`, { retriable: true })));
      req.on('error', fail);
      req.on('response', (res) => {
        if (done) {
          res.resume();
          return;
        }
        done = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (body instanceof Readable) {
        body.on('error', (e) => {
          // A failing source (disk error, wrong size) is not a network fault: keep its own class.
          const err = isStrataError(e) ? e : new StrataError('BACKEND', `reading the source for ${this.show(url)}: ${errorMessage(e)}`, { cause: e });
          fail(err);
          req.destroy(err);
        });
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  private show(url: URL): string {
    return safeDecode(url.pathname);
  }

  private networkError(e: unknown, action: string): StrataError {
    if (isStrataError(e)) return e;
    if (e instanceof Error && e.name === 'AbortError') return new StrataError('CANCELLED', `${action}: cancelled`, { cause: e });
    const code = errnoCode(e);
    if (code !== undefined && TLS_TRUST_ERRORS.has(code)) {
      return new StrataError('AUTH', `${action} on ${this.description}: the server's TLS certificate is not trusted (${errorMessage(e)})`, {
        cause: e,
        hint: 'For a self-signed certificate or a private CA, point NODE_EXTRA_CA_CERTS at its certificate (PEM file) when running strata; strata never turns certificate checks off.',
      });
    }
    return new StrataError('BACKEND', `${action} on ${this.description}: ${errorMessage(e)}`, { cause: e, retriable: true });
  }

  /** statusError classifies an unexpected HTTP status. */
  private statusError(res: Response, action: string): StrataError {
    res.body.resume();
    const s = res.status;
    const what = `${action} on ${this.description}: HTTP ${s}`;
    if (s === 401) return new StrataError('AUTH', `${what} (wrong user name or password)`, { hint: 'Check the WebDAV user name and password (an app password for Nextcloud/ownCloud).' });
    if (s === 403) return new StrataError('AUTH', `${what} (permission denied)`, { hint: 'Check that this user may write to that folder.' });
    if (s === 404) return new StrataError('NOT_FOUND', `${action}: does not exist`);
    if (s === 412) return new StrataError('ALREADY_EXISTS', `${action}: already exists`);
    if (s === 507) return new StrataError('DISK_FULL', `${what} (insufficient storage)`, { hint: 'Free space or raise the quota on the WebDAV server.' });
    return new StrataError('BACKEND', what, { retriable: s >= 500 || s === 408 || s === 423 || s === 429 });
  }

  private async ensureDir(dir: string): Promise<void> {
    if (dir === '') return this.ensureBase();
    let p = this.dirs.get(dir);
    if (p === undefined) {
      const parent = dir.includes('/') ? dir.slice(0, dir.lastIndexOf('/')) : '';
      p = (async () => {
        await this.ensureDir(parent);
        const res = await this.request('MKCOL', this.url(`${dir}/`));
        res.body.resume();
        if (res.status !== 201 && res.status !== 405 && res.status !== 200) throw this.statusError(res, `creating folder ${dir}`);
      })();
      this.dirs.set(dir, p);
      p.catch(() => this.dirs.delete(dir));
    }
    return p;
  }

  async rootExists(): Promise<boolean> {
    const probe = await this.request('PROPFIND', this.base, { Depth: 0 }, PROPFIND_BODY);
    probe.body.resume();
    if (probe.status === 207) return true;
    if (probe.status === 404) return false;
    throw this.statusError(probe, 'opening the destination folder');
  }

  createRoot(): Promise<void> {
    return this.ensureBase();
  }

  /** sweepTemp removes a leftover upload temporary; a failure only leaves it for the next sweep. */
  private async sweepTemp(rel: string): Promise<void> {
    try {
      const res = await this.request('DELETE', this.url(rel));
      res.body.resume();
    } catch {
      // Best effort.
    }
  }

  /** ensureBase creates the destination folder itself (and its parents) on first use. */
  private ensureBase(): Promise<void> {
    let p = this.dirs.get('');
    if (p === undefined) {
      p = (async () => {
        const probe = await this.request('PROPFIND', this.base, { Depth: 0 }, PROPFIND_BODY);
        probe.body.resume();
        if (probe.status === 207) return;
        if (probe.status !== 404) throw this.statusError(probe, 'opening the destination folder');
        const segs = this.base.pathname.split('/').filter((s) => s !== '');
        for (let i = 1; i <= segs.length; i++) {
          const u = new URL(`/${segs.slice(0, i).join('/')}/`, this.base);
          const res = await this.request('MKCOL', u);
          res.body.resume();
          // Ancestors of the destination may be outside the DAV area; only the last MKCOL must work.
          if (i === segs.length && res.status !== 201 && res.status !== 405) throw this.statusError(res, 'creating the destination folder');
          if (res.status === 401) throw this.statusError(res, 'creating the destination folder');
        }
      })();
      this.dirs.set('', p);
      p.catch(() => this.dirs.delete(''));
    }
    return p;
  }

  async put(key: string, body: BodySource, options: PutOptions = {}): Promise<ObjectInfo> {
    validateKey(key);
    const slash = key.lastIndexOf('/');
    const dir = slash < 0 ? '' : key.slice(0, slash);
    await this.ensureDir(dir);
    const target = this.url(key);
    const signal = options.signal;
    if (options.overwrite !== true) {
      // Refuse early so that a large volume is not uploaded only to be refused by MOVE.
      const head = await this.request('HEAD', target, {}, undefined, signal);
      head.body.resume();
      if (head.status === 200 || head.status === 204) throw new StrataError('ALREADY_EXISTS', `${key} already exists on ${this.description}`);
      if (head.status !== 404) throw this.statusError(head, `checking ${key}`);
    }
    const tmpKey = `${dir === '' ? '' : `${dir}/`}${tempName()}`;
    const tmp = this.url(tmpKey);
    const counter = hashingSource(body, key);
    try {
      const res = await this.request(
        'PUT',
        tmp,
        { 'Content-Length': body.size, 'Content-Type': 'application/octet-stream', 'If-None-Match': '*' },
        counter,
        signal,
      );
      if (res.status !== 201 && res.status !== 204 && res.status !== 200) {
        if (res.status === 412) throw new StrataError('BACKEND', `uploading ${key}: temporary name taken`, { retriable: true });
        throw this.statusError(res, `uploading ${key}`);
      }
      res.body.resume();
      if (counter.bytes !== body.size) throw new StrataError('CHECKSUM', `${key}: sent ${counter.bytes} bytes, expected ${body.size}`);
      const sha256 = counter.sha256();
      checkSha256(key, sha256, options.sha256);
      await this.setSha256(tmp, sha256);
      const moved = await this.request('MOVE', tmp, { Destination: target.href, Overwrite: options.overwrite === true ? 'T' : 'F' }, undefined, signal);
      moved.body.resume();
      if (moved.status === 412) throw new StrataError('ALREADY_EXISTS', `${key} already exists on ${this.description}`);
      if (moved.status !== 201 && moved.status !== 204) throw this.statusError(moved, `moving ${key} into place`);
      return { key, size: body.size, sha256 };
    } catch (e) {
      counter.destroy();
      // The temporary object may exist even when the request failed midway: delete it in every
      // case, ignoring failures (it is hidden from list() anyway).
      await this.request('DELETE', tmp).then((r) => r.body.resume(), () => undefined);
      throw isStrataError(e) ? e : this.networkError(e, `uploading ${key}`);
    }
  }

  private async setSha256(url: URL, sha256: string): Promise<void> {
    if (this.props === false) return;
    const xml = `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:S="${NS}"><D:set><D:prop><S:sha256>${sha256}</S:sha256></D:prop></D:set></D:propertyupdate>`;
    const res = await this.request('PROPPATCH', url, {}, xml);
    const text = await readText(res.body);
    if (res.status === 401) throw this.statusError(res, 'setting properties');
    const ok = res.status === 207 && proppatchStored(text);
    if (!ok) {
      this.props = false;
      this.options.onWarning?.(`${this.description}: the server keeps no custom properties; SHA-256 sums are verified on upload but not stored`);
    } else {
      this.props = true;
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    validateKey(key);
    if (range !== undefined && range.length !== undefined && range.length <= 0) {
      await this.stat(key);
      return Readable.from([]);
    }
    const headers: Record<string, string> = {};
    if (range !== undefined) headers['Range'] = `bytes=${range.offset}-${range.length === undefined ? '' : range.offset + range.length - 1}`;
    const res = await this.request('GET', this.url(key), headers);
    if (res.status === 206) return res.body;
    if (res.status === 416 && range !== undefined) {
      res.body.resume();
      return Readable.from([]);
    }
    if (res.status !== 200) throw this.statusError(res, `reading ${key}`);
    if (range === undefined || (range.offset === 0 && range.length === undefined)) return res.body;
    // The server ignored Range: cut the wanted bytes out of the full body.
    return res.body.pipe(slice(range.offset, range.length));
  }

  async stat(key: string): Promise<ObjectInfo> {
    validateKey(key);
    const res = await this.request('PROPFIND', this.url(key), { Depth: 0 }, PROPFIND_BODY);
    if (res.status !== 207) throw this.statusError(res, `reading ${key}`);
    const entries = parseMultistatus(await readText(res.body));
    const e = entries[0];
    if (e === undefined || e.collection) throw new StrataError('NOT_FOUND', `${key} on ${this.description} does not exist`);
    const info: ObjectInfo = { key, size: e.size };
    if (e.sha256 !== undefined) info.sha256 = e.sha256;
    return info;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const slash = prefix.lastIndexOf('/');
    const start = slash < 0 ? '' : prefix.slice(0, slash);
    const queue = [start];
    for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
      const url = dir === '' ? this.base : this.url(`${dir}/`);
      const res = await this.request('PROPFIND', url, { Depth: 1 }, PROPFIND_BODY);
      if (res.status === 404) {
        res.body.resume();
        continue;
      }
      if (res.status !== 207) throw this.statusError(res, `listing ${dir === '' ? this.description : dir}`);
      for (const e of parseMultistatus(await readText(res.body))) {
        if (!e.path.startsWith(this.basePath)) continue;
        const rel = e.path.slice(this.basePath.length).replace(/\/+$/, '');
        if (rel === dir || rel === '') continue;
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        if (e.collection) {
          const asDir = `${rel}/`;
          if (asDir.startsWith(prefix) || prefix.startsWith(asDir)) queue.push(rel);
        } else if (name.startsWith(TMP_PREFIX)) {
          // What a killed upload left behind (its writer is gone): swept, like on a local folder.
          if (isLeftoverTemp(name, e.modified)) await this.sweepTemp(rel);
        } else if (rel.startsWith(prefix)) {
          const info: ObjectInfo = { key: rel, size: e.size };
          if (e.sha256 !== undefined) info.sha256 = e.sha256;
          yield info;
        }
      }
    }
  }

  async delete(key: string): Promise<void> {
    validateKey(key);
    const res = await this.request('DELETE', this.url(key));
    res.body.resume();
    if (res.status === 404 || res.status === 204 || res.status === 200) return;
    throw this.statusError(res, `deleting ${key}`);
  }

  /** removeFolder deletes the collection of a prefix when a PROPFIND shows it empty (DELETE of a
   * collection is recursive, so a folder holding anything, hidden uploads included, is left). */
  async removeFolder(prefix: string): Promise<void> {
    const dir = validateKey(prefix.replace(/\/+$/, ''));
    const url = this.url(`${dir}/`);
    const res = await this.request('PROPFIND', url, { Depth: 1 }, PROPFIND_BODY);
    if (res.status === 404) {
      res.body.resume();
      this.forgetDirs(dir);
      return;
    }
    if (res.status !== 207) throw this.statusError(res, `listing ${dir}`);
    const self = safeDecode(url.pathname).replace(/\/+$/, '');
    if (parseMultistatus(await readText(res.body)).some((e) => e.path.replace(/\/+$/, '') !== self)) return;
    const del = await this.request('DELETE', url);
    del.body.resume();
    this.forgetDirs(dir);
    if (del.status === 404 || del.status === 204 || del.status === 200) return;
    throw this.statusError(del, `removing folder ${dir}`);
  }

  /** forgetDirs drops a removed folder (and its subfolders) from the created-folders cache. */
  private forgetDirs(dir: string): void {
    for (const d of [...this.dirs.keys()]) if (d === dir || d.startsWith(`${dir}/`)) this.dirs.delete(d);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

const PROPFIND_BODY = `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:" xmlns:S="${NS}"><D:prop><D:resourcetype/><D:getcontentlength/><D:getlastmodified/><S:sha256/></D:prop></D:propfind>`;

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** readText reads a (small) response body: XML answers, error pages. Capped so a wrong URL cannot
 * fill memory; PROPFIND answers of very large folders stay far below the cap. */
async function readText(res: http.IncomingMessage, cap = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > cap) {
      res.destroy();
      throw new StrataError('BACKEND', `WebDAV answer larger than ${cap} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** slice passes the bytes [offset, offset+length) of a stream and drops the rest. */
function slice(offset: number, length: number | undefined): Transform {
  let pos = 0;
  const end = length === undefined ? Infinity : offset + length;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const s = Math.max(0, offset - pos);
      const e = Math.min(chunk.length, end - pos);
      pos += chunk.length;
      cb(null, e > s ? chunk.subarray(s, e) : undefined);
    },
  });
}
