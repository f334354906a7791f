/**
 * core/destination: where a backup goes, parsed from a URL (`--dest`) or a structured config block
 * into a typed union that src/backend/open.ts turns into a Backend. Pure: no IO, so that the rules
 * (accepted forms, defaults, credential redaction) are testable without touching the network.
 *
 * Accepted forms:
 * - local: `/abs/path`, `./rel`, `../rel`, `~/path`, `rel/path`, `file:///abs/path`
 * - S3: `s3://bucket/prefix?endpoint=…&region=…&pathStyle=true&profile=…&storageClass=…`
 *   (`storageClass.<tier>=…` per tier; keys as `s3://KEY:SECRET@bucket/…` are accepted but better
 *   kept in the AWS credential chain or a structured block)
 * - WebDAV: `webdav+https://user:pass@host/path`, `webdav+http://…`, `webdavs://…` (= https),
 *   `webdav://…` (= http); without a password in the URL, STRATA_WEBDAV_PASSWORD is used
 * - rclone: `rclone:remote:path` (any remote the user's rclone knows, incl. `:backend,opt=…:path`)
 */
import { StrataError } from '../errors.js';
import { TIERS, type Tier } from './naming.js';

/** LocalDestination is a folder on this machine (or a synced/mounted folder). */
export interface LocalDestination {
  kind: 'local';
  /** As given (relative paths and `~` are resolved when the backend is opened). */
  path: string;
}

/** S3Destination is a bucket (and key prefix) on AWS S3 or any S3-compatible provider. */
export interface S3Destination {
  kind: 's3';
  bucket: string;
  /** Key prefix without leading or trailing '/' ('' for the bucket root). */
  prefix: string;
  /** Provider endpoint (https://… or http://…); omitted: AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (https://host/bucket/key), needed by most non-AWS providers. */
  pathStyle?: boolean;
  /** Profile of the AWS shared config/credentials files. */
  profile?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Default storage class for uploads. */
  storageClass?: string;
  /** Storage class per tier name (e.g. { cold: 'GLACIER' }), over storageClass. */
  storageClasses?: Record<string, string>;
}

/** WebDavDestination is a folder on a WebDAV server (Nextcloud, ownCloud, Apache, NAS boxes). */
export interface WebDavDestination {
  kind: 'webdav';
  /** http(s) URL of the folder, without credentials, ending in '/'. */
  url: string;
  username?: string;
  password?: string;
}

/** RcloneDestination is a path on any remote the user's rclone is configured for. */
export interface RcloneDestination {
  kind: 'rclone';
  /** The rclone path, e.g. `myremote:backups` or `:webdav,url=…:dir`. */
  target: string;
}

/** Destination is every kind of place strata can store backup sets. */
export type Destination = LocalDestination | S3Destination | WebDavDestination | RcloneDestination;

/** DestinationConfig is the structured (config-file) form of a destination, before validation. */
export type DestinationConfig = string | Record<string, unknown>;

const S3_QUERY_KEYS = new Set(['endpoint', 'region', 'pathStyle', 'path_style', 'forcePathStyle', 'profile', 'storageClass', 'accessKeyId', 'secretAccessKey', 'sessionToken']);

function usage(message: string, hint?: string): StrataError {
  return new StrataError('USAGE', message, { hint: hint ?? 'Use a path, s3://bucket/prefix, webdav+https://user@host/path or rclone:remote:path.' });
}

/** parseDestination turns a URL or a structured config block into a Destination, or throws USAGE. */
export function parseDestination(input: DestinationConfig): Destination {
  if (typeof input === 'string') return parseDestinationUrl(input);
  return parseDestinationBlock(input);
}

/** parseDestinationUrl parses the URL/path form of a destination. */
export function parseDestinationUrl(raw: string): Destination {
  const s = raw.trim();
  if (s === '') throw usage('the destination is empty');
  if (s.startsWith('rclone:')) {
    const target = s.slice('rclone:'.length);
    if (!target.includes(':') || target === ':') {
      throw usage(`rclone destination ${JSON.stringify(redact(s))} has no remote`, 'Write it as rclone:REMOTE:PATH (REMOTE as in "rclone listremotes").');
    }
    return { kind: 'rclone', target };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(s)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) && !/^[a-zA-Z]:[\\/]/.test(s)) {
      throw usage(`unknown destination ${JSON.stringify(redact(s))}`, `For an rclone remote write rclone:${s}; for a local folder write ./${s}.`);
    }
    return { kind: 'local', path: s };
  }
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw usage(`destination ${JSON.stringify(redact(s))} is not a valid URL`);
  }
  switch (scheme) {
    case 'file':
      if (url.host !== '' && url.host !== 'localhost') throw usage(`file URL ${JSON.stringify(s)} names a remote host`, 'Use file:///absolute/path.');
      if (url.search !== '' || url.hash !== '') throw usage(`file URL ${JSON.stringify(s)} has a query or fragment`, 'Use file:///absolute/path.');
      return { kind: 'local', path: decodeURIComponent(url.pathname) };
    case 's3':
      return parseS3Url(url);
    case 'webdav+https':
    case 'webdavs':
    case 'davs':
      return parseWebDavUrl(url, 'https:');
    case 'webdav+http':
    case 'webdav':
    case 'dav':
      return parseWebDavUrl(url, 'http:');
    case 'http':
    case 'https':
      throw usage(`ambiguous destination ${JSON.stringify(redact(s))}`, `For WebDAV write webdav+${scheme}://…; for S3 write s3://bucket/prefix?endpoint=${scheme}://host.`);
    default:
      throw usage(`unsupported destination scheme "${scheme}:"`);
  }
}

/** checkTier accepts a tier name of a per-tier storage class; a misspelt tier would never apply. */
function checkTier(tier: string, key: string): Tier {
  const known = TIERS.find((t) => t === tier);
  if (known === undefined) throw usage(`s3 destination: "${key}" names no tier`, `Tiers: ${TIERS.join(', ')} (e.g. storageClass.monthly=GLACIER_IR).`);
  return known;
}

function parseS3Url(url: URL): S3Destination {
  const bucket = decodeURIComponent(url.hostname);
  if (bucket === '') throw usage('s3:// destination has no bucket', 'Write it as s3://BUCKET/prefix.');
  const dest: S3Destination = { kind: 's3', bucket, prefix: normalizePrefix(decodeURIComponent(url.pathname)) };
  if (url.username !== '') dest.accessKeyId = decodeURIComponent(url.username);
  if (url.password !== '') dest.secretAccessKey = decodeURIComponent(url.password);
  for (const [k, v] of url.searchParams) {
    if (k.startsWith('storageClass.')) {
      const tier = checkTier(k.slice('storageClass.'.length), k);
      dest.storageClasses = { ...dest.storageClasses, [tier]: v };
      continue;
    }
    if (!S3_QUERY_KEYS.has(k)) {
      throw usage(`s3 destination: unknown option "${k}"`, `Options: ${[...S3_QUERY_KEYS].join(', ')}, storageClass.<tier>.`);
    }
    switch (k) {
      case 'endpoint':
        dest.endpoint = normalizeEndpoint(v);
        break;
      case 'region':
        dest.region = v;
        break;
      case 'pathStyle':
      case 'path_style':
      case 'forcePathStyle':
        dest.pathStyle = parseBool(k, v);
        break;
      case 'profile':
        dest.profile = v;
        break;
      case 'storageClass':
        dest.storageClass = v;
        break;
      case 'accessKeyId':
        dest.accessKeyId = v;
        break;
      case 'secretAccessKey':
        dest.secretAccessKey = v;
        break;
      case 'sessionToken':
        dest.sessionToken = v;
        break;
    }
  }
  checkS3Keys(dest);
  return dest;
}

function parseWebDavUrl(url: URL, protocol: 'http:' | 'https:'): WebDavDestination {
  if (url.hostname === '') throw usage('WebDAV destination has no host');
  const base = new URL(`${protocol}//${url.host}${url.pathname}${url.search}`);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const dest: WebDavDestination = { kind: 'webdav', url: base.toString() };
  if (url.username !== '') dest.username = decodeURIComponent(url.username);
  if (url.password !== '') dest.password = decodeURIComponent(url.password);
  return dest;
}

/**
 * DESTINATION_BLOCK_KEYS are the keys parseDestinationBlock reads, by the block's type (the config
 * schema refuses any other key, so keep the two together).
 */
export const DESTINATION_BLOCK_KEYS: Readonly<Record<string, readonly string[]>> = {
  local: ['type', 'path'],
  s3: ['type', 'bucket', 'prefix', 'endpoint', 'region', 'pathStyle', 'forcePathStyle', 'profile', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'storageClass', 'storageClasses'],
  webdav: ['type', 'url', 'username', 'user', 'password'],
  rclone: ['type', 'remote', 'path'],
};

function parseDestinationBlock(block: Record<string, unknown>): Destination {
  const type = str(block, 'type') ?? str(block, 'kind');
  if (type === undefined) {
    const url = str(block, 'url');
    if (url !== undefined) return parseDestinationUrl(url);
    throw usage('destination block has no "type"', 'Set type: local, s3, webdav or rclone.');
  }
  switch (type) {
    case 'local': {
      const p = str(block, 'path');
      if (p === undefined || p === '') throw usage('local destination needs "path"');
      return { kind: 'local', path: p };
    }
    case 's3': {
      const bucket = str(block, 'bucket');
      if (bucket === undefined || bucket === '') throw usage('s3 destination needs "bucket"');
      const dest: S3Destination = { kind: 's3', bucket, prefix: normalizePrefix(str(block, 'prefix') ?? '') };
      const endpoint = str(block, 'endpoint');
      if (endpoint !== undefined) dest.endpoint = normalizeEndpoint(endpoint);
      const set = (k: 'region' | 'profile' | 'accessKeyId' | 'secretAccessKey' | 'sessionToken' | 'storageClass'): void => {
        const v = str(block, k);
        if (v !== undefined) dest[k] = v;
      };
      set('region');
      set('profile');
      set('accessKeyId');
      set('secretAccessKey');
      set('sessionToken');
      set('storageClass');
      const ps = block['pathStyle'] ?? block['forcePathStyle'];
      if (ps !== undefined) {
        if (typeof ps !== 'boolean') throw usage('s3 destination: "pathStyle" must be true or false');
        dest.pathStyle = ps;
      }
      const classes = block['storageClasses'];
      if (classes !== undefined) {
        if (typeof classes !== 'object' || classes === null || Array.isArray(classes)) throw usage('s3 destination: "storageClasses" must map tier names to storage classes');
        const out: Record<string, string> = {};
        for (const [tier, cls] of Object.entries(classes)) {
          checkTier(tier, `storageClasses.${tier}`);
          if (typeof cls !== 'string') throw usage(`s3 destination: storage class of tier "${tier}" must be a string`);
          out[tier] = cls;
        }
        dest.storageClasses = out;
      }
      checkS3Keys(dest);
      return dest;
    }
    case 'webdav': {
      const url = str(block, 'url');
      if (url === undefined) throw usage('webdav destination needs "url"');
      const parsed = parseDestinationUrl(/^https?:\/\//i.test(url) ? `webdav+${url}` : url);
      if (parsed.kind !== 'webdav') throw usage('webdav destination: "url" must be an http(s) URL');
      const user = str(block, 'username') ?? str(block, 'user');
      const pass = str(block, 'password');
      if (user !== undefined) parsed.username = user;
      if (pass !== undefined) parsed.password = pass;
      return parsed;
    }
    case 'rclone': {
      const remote = str(block, 'remote');
      if (remote === undefined || remote === '') throw usage('rclone destination needs "remote"');
      const p = str(block, 'path') ?? '';
      return { kind: 'rclone', target: remote.includes(':') ? `${remote}${p}` : `${remote}:${p}` };
    }
    default:
      throw usage(`unknown destination type "${type}"`, 'Set type: local, s3, webdav or rclone.');
  }
}

function str(block: Record<string, unknown>, key: string): string | undefined {
  const v = block[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw usage(`destination: "${key}" must be a string`);
  return v;
}

function parseBool(name: string, v: string): boolean {
  if (v === 'true' || v === '1' || v === 'yes' || v === '') return true;
  if (v === 'false' || v === '0' || v === 'no') return false;
  throw usage(`s3 destination: ${name}=${v} is not true or false`);
}

function normalizePrefix(p: string): string {
  return p.split('/').filter((s) => s !== '').join('/');
}

function normalizeEndpoint(e: string): string {
  const withScheme = /^https?:\/\//i.test(e) ? e : `https://${e}`;
  try {
    return new URL(withScheme).toString().replace(/\/$/, '');
  } catch {
    throw usage(`s3 destination: endpoint ${JSON.stringify(e)} is not a URL`);
  }
}

function checkS3Keys(dest: S3Destination): void {
  if ((dest.accessKeyId === undefined) !== (dest.secretAccessKey === undefined)) {
    throw usage('s3 destination: give both accessKeyId and secretAccessKey, or neither', 'Without keys the standard AWS credential chain is used (environment, ~/.aws files, SSO, instance role).');
  }
}

/** storageClassFor picks the storage class for an object of a tier: the tier's class, else the default. */
export function storageClassFor(dest: S3Destination, tier?: string): string | undefined {
  if (tier !== undefined) {
    const c = dest.storageClasses?.[tier];
    if (c !== undefined) return c;
  }
  return dest.storageClass;
}

const SECRET_PARAM = /(secret|token|pass(word)?|pwd|key|signature|sig|credential|auth)/i;

/**
 * SECRET_OPTION finds `name=value` options whose name suggests a secret, in rclone connection
 * strings (`:s3,secret_access_key=…:bucket`) and in rclone's own messages, which echo them. Names
 * may hold digits and "_" (sse_customer_key_base64); a value runs to the next separator unless quoted.
 */
const SECRET_OPTION = /((?:^|[,:\s"'({])[a-z0-9_-]*(?:pass|secret|token|key|pwd|credential|auth)[a-z0-9_-]*\s*=\s*)("[^"]*"|'[^']*'|[^,:\s"')}]*)/gi;

/**
 * EMBEDDED_USERINFO finds `scheme://user:secret@` inside other text (an rclone `url="…"` option, a
 * tool's message). The secret may hold "/", "?" or "#" (AWS secret keys hold "/"), so it runs to
 * the last "@" before a space or quote rather than stopping at the first "/".
 */
const EMBEDDED_USERINFO = /([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)([^\s/?#@:"']*):[^\s"']*@/g;

/** redactFreeText applies the option and embedded-URL rules to text that is not one URL. */
function redactFreeText(text: string): string {
  return text.replace(EMBEDDED_USERINFO, '$1$2:***@').replace(SECRET_OPTION, '$1***');
}

/**
 * splitUserinfo separates `scheme://` and its user-info from the rest of a URL. A URL parser ends
 * the user-info at the first "/", "?" or "#", but a secret may contain them (which makes the URL
 * invalid, and exactly then it is printed in the error): when the text starts like user:secret, the
 * user-info runs to the last "@". Over-redacting an "@" in a path is harmless; leaking a key is not.
 */
function splitUserinfo(text: string): { scheme: string; userinfo: string; rest: string } | undefined {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)(.*)$/s.exec(text);
  if (m === null) return undefined;
  const scheme = m[1] ?? '';
  const after = m[2] ?? '';
  // user:secret… runs to the last "@"; a bare user name ends at the "@" within the authority.
  const at = /^[^/?#@:]*:/.test(after) ? after.lastIndexOf('@') : (/^[^/?#]*@/.exec(after)?.[0].length ?? 0) - 1;
  if (at < 0) return { scheme, userinfo: '', rest: after };
  const end = at + 1;
  return { scheme, userinfo: after.slice(0, end), rest: after.slice(end) };
}

/**
 * redact hides the credentials in a destination URL or rclone path: the password (and for s3:// also
 * the access key) of the user-info part, and query or rclone connection-string values whose name
 * suggests a secret. Text that is not a URL (an rclone path, a tool's message) gets the rules that
 * fit free text: secret-named options and user-info of URLs inside it.
 */
export function redact(text: string): string {
  const parts = splitUserinfo(text);
  if (parts === undefined) return redactFreeText(text);
  const { scheme } = parts;
  let userinfo = parts.userinfo;
  if (userinfo !== '') {
    const info = userinfo.slice(0, -1);
    const colon = info.indexOf(':');
    const user = colon < 0 ? info : info.slice(0, colon);
    if (scheme.toLowerCase() === 's3://') userinfo = '***@';
    else userinfo = colon < 0 ? `${user}@` : `${user}:***@`;
  }
  const m = /^([^?#]*)(\?[^#]*)?(#.*)?$/s.exec(parts.rest);
  let query = m?.[2] ?? '';
  if (query !== '') {
    query =
      '?' +
      query
        .slice(1)
        .split('&')
        .map((pair) => {
          const eq = pair.indexOf('=');
          const name = eq < 0 ? pair : pair.slice(0, eq);
          return eq >= 0 && SECRET_PARAM.test(name) ? `${name}=***` : pair;
        })
        .join('&');
  }
  return `${scheme}${userinfo}${m?.[1] ?? ''}${query}${m?.[3] ?? ''}`;
}

/** describeDestination gives a one-line description of a destination that is safe to print. */
export function describeDestination(dest: Destination): string {
  switch (dest.kind) {
    case 'local':
      return dest.path;
    case 's3': {
      const q: string[] = [];
      if (dest.endpoint !== undefined) q.push(`endpoint=${redact(dest.endpoint)}`);
      if (dest.region !== undefined) q.push(`region=${dest.region}`);
      if (dest.pathStyle === true) q.push('pathStyle=true');
      if (dest.profile !== undefined) q.push(`profile=${dest.profile}`);
      if (dest.storageClass !== undefined) q.push(`storageClass=${dest.storageClass}`);
      return `s3://${dest.bucket}/${dest.prefix}${q.length > 0 ? `?${q.join('&')}` : ''}`;
    }
    case 'webdav': {
      const u = new URL(dest.url);
      const scheme = u.protocol === 'https:' ? 'webdav+https' : 'webdav+http';
      const user = dest.username !== undefined ? `${encodeURIComponent(dest.username)}@` : '';
      return redact(`${scheme}://${user}${u.host}${u.pathname}${u.search}`);
    }
    case 'rclone':
      return redact(`rclone:${dest.target}`);
  }
}
