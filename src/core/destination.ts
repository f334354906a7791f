/**
 * core/destination: where a backup goes, parsed from a URL (`--dest`) or a structured config block
 * into a typed union that src/backend/open.ts turns into a Backend. Pure: no IO, so that the rules
 * (accepted forms, defaults, credential redaction) are testable without touching the network.
 *
 * Accepted forms:
 * - local: `/abs/path`, `./rel`, `../rel`, `~/path`, `rel/path`, `file:///abs/path`
 * - S3: `s3://bucket/prefix?endpoint=…&region=…&pathStyle=true&profile=…&storageClass=…`
 *   (`storageClass.<tier>=…` per tier; `retrievalTier=Expedited|Standard|Bulk` for archived objects; keys as `s3://KEY:SECRET@bucket/…` are accepted but better
 *   kept in the AWS credential chain or a structured block)
 * - WebDAV: `webdav+https://user:pass@host/path`, `webdav+http://…`, `webdavs://…` (= https),
 *   `webdav://…` (= http); without a password in the URL, STRATA_WEBDAV_PASSWORD is used
 * - rclone: `rclone:remote:path` (any remote the user's rclone knows, incl. `:backend,opt=…:path`)
 */
import * as z from 'zod';
import { StrataError } from '../errors.js';
import { TIERS, type Tier } from './naming.js';
import { parseRetrievalTier, type RetrievalTier } from './cold.js';

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
  /** Retrieval tier of restore requests for archived objects (GLACIER, DEEP_ARCHIVE); default Standard. */
  retrievalTier?: RetrievalTier;
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

const S3_QUERY_KEYS = new Set(['endpoint', 'region', 'pathStyle', 'path_style', 'forcePathStyle', 'profile', 'storageClass', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'retrievalTier']);

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
      case 'retrievalTier':
        dest.retrievalTier = parseRetrievalTier(v, 's3 destination: retrievalTier');
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

/** needs is a required text key of one kind of block: missing, it is "<kind> destination needs "<key>"". */
function needs(kind: string, key: string, nonEmpty = true): z.ZodString {
  const missing = `${kind} destination needs "${key}"`;
  const s = z.string({ error: (iss) => (iss.input === undefined || iss.input === null ? missing : `destination: "${key}" must be a string`) });
  return nonEmpty ? s.min(1, { error: missing }) : s;
}

/** text is an optional text key (null counts as absent, as YAML's `key:` without a value). */
function text(key: string): z.ZodOptional<z.ZodNullable<z.ZodString>> {
  return z.string({ error: `destination: "${key}" must be a string` }).nullish();
}

const pathStyle = z.boolean({ error: 's3 destination: "pathStyle" must be true or false' }).optional();

/**
 * destinationBlockSchema is the structured (config-file) destination: one zod discriminated union
 * on `type`, the one description of which keys each kind takes. The config schema checks a block
 * with it (unknown keys are refused, with their line), and parseDestination turns it into a
 * Destination; rules across keys (both S3 keys or neither, known tiers, an http(s) WebDAV URL)
 * follow in toDestination.
 */
export const destinationBlockSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local'), path: needs('local', 'path') }),
  z.strictObject({
    type: z.literal('s3'),
    bucket: needs('s3', 'bucket'),
    prefix: text('prefix'),
    endpoint: text('endpoint'),
    region: text('region'),
    pathStyle,
    forcePathStyle: pathStyle,
    profile: text('profile'),
    accessKeyId: text('accessKeyId'),
    secretAccessKey: text('secretAccessKey'),
    sessionToken: text('sessionToken'),
    storageClass: text('storageClass'),
    retrievalTier: text('retrievalTier'),
    storageClasses: z
      .record(z.string(), z.string({ error: 's3 destination: a storage class in "storageClasses" must be a string' }), {
        error: 's3 destination: "storageClasses" must map tier names to storage classes',
      })
      .optional(),
  }),
  z.strictObject({ type: z.literal('webdav'), url: needs('webdav', 'url', false), username: text('username'), user: text('user'), password: text('password') }),
  z.strictObject({ type: z.literal('rclone'), remote: needs('rclone', 'remote'), path: text('path') }),
]);

/** DestinationBlock is a checked structured destination. */
export type DestinationBlock = z.infer<typeof destinationBlockSchema>;

/** DESTINATION_KINDS are the values of a block's `type`. */
export const DESTINATION_KINDS = destinationBlockSchema.options.map((o) => o.shape.type.value);

/** DESTINATION_BLOCK_KEYS are the keys each kind of block takes (from destinationBlockSchema). */
export const DESTINATION_BLOCK_KEYS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(destinationBlockSchema.options.map((o) => [o.shape.type.value, Object.keys(o.shape)]));

/** withType reads `kind:` as `type:` (both are accepted). */
function withType(block: Record<string, unknown>): Record<string, unknown> {
  if (block['type'] !== undefined || block['kind'] === undefined) return block;
  const { kind, ...rest } = block;
  return { type: kind, ...rest };
}

function parseDestinationBlock(raw: Record<string, unknown>): Destination {
  const block = withType(raw);
  const type = block['type'];
  if (type === undefined || type === null) {
    const url = block['url'];
    if (typeof url === 'string') return parseDestinationUrl(url);
    throw usage('destination block has no "type"', 'Set type: local, s3, webdav or rclone.');
  }
  if (typeof type !== 'string') throw usage('destination: "type" must be a string');
  if (!DESTINATION_KINDS.some((k) => k === type)) throw usage(`unknown destination type "${type}"`, 'Set type: local, s3, webdav or rclone.');
  const parsed = destinationBlockSchema.safeParse(block);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') throw usage(`destination: unknown key "${issue.keys[0] ?? ''}" in a ${type} destination`, `Keys of a ${type} destination: ${(DESTINATION_BLOCK_KEYS[type] ?? []).join(', ')}.`);
    throw usage(issue?.message ?? 'destination: not a valid destination block');
  }
  return toDestination(parsed.data);
}

/** toDestination turns a checked block into a Destination, with the rules across its keys. */
export function toDestination(block: DestinationBlock): Destination {
  switch (block.type) {
    case 'local':
      return { kind: 'local', path: block.path };
    case 's3': {
      const dest: S3Destination = { kind: 's3', bucket: block.bucket, prefix: normalizePrefix(block.prefix ?? '') };
      if (block.endpoint != null) dest.endpoint = normalizeEndpoint(block.endpoint);
      for (const k of ['region', 'profile', 'accessKeyId', 'secretAccessKey', 'sessionToken', 'storageClass'] as const) {
        const v = block[k];
        if (v != null) dest[k] = v;
      }
      if (block.retrievalTier != null) dest.retrievalTier = parseRetrievalTier(block.retrievalTier, 's3 destination: retrievalTier');
      const ps = block.pathStyle ?? block.forcePathStyle;
      if (ps !== undefined) dest.pathStyle = ps;
      if (block.storageClasses !== undefined) {
        for (const tier of Object.keys(block.storageClasses)) checkTier(tier, `storageClasses.${tier}`);
        dest.storageClasses = { ...block.storageClasses };
      }
      checkS3Keys(dest);
      return dest;
    }
    case 'webdav': {
      const parsed = parseDestinationUrl(/^https?:\/\//i.test(block.url) ? `webdav+${block.url}` : block.url);
      if (parsed.kind !== 'webdav') throw usage('webdav destination: "url" must be an http(s) URL');
      const user = block.username ?? block.user;
      if (user != null) parsed.username = user;
      if (block.password != null) parsed.password = block.password;
      return parsed;
    }
    case 'rclone': {
      const p = block.path ?? '';
      return { kind: 'rclone', target: block.remote.includes(':') ? `${block.remote}${p}` : `${block.remote}:${p}` };
    }
  }
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
