/**
 * commands/check-destination: `strata check-destination --dest URL` tries a destination for real,
 * under a temporary prefix that it removes afterwards: put, get, range read, stat, list, delete,
 * refusal to overwrite, rejection of a wrong checksum, and (S3) tags read-back. It prints what
 * works and what the provider supports, so a user learns about a bad endpoint or missing
 * permission before the first backup rather than during it.
 */
import { counted } from '../core/words.js';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Backend, BodySource } from '../backend/backend.js';
import { openBackend } from '../backend/open.js';
import { requireRoot } from '../repository/marker.js';
import { parseCommandArgs } from './args.js';
import type { Command, CommandContext, OptionSpecs } from './context.js';
import { describeDestination, parseDestination, type DestinationConfig } from '../core/destination.js';
import { findConfig, loadConfig } from '../config/load.js';
import { ExitCode, StrataError, errorMessage, isStrataError } from '../errors.js';

/** CheckResult is the outcome of one live check. */
interface CheckResult {
  name: string;
  ok: boolean;
  /** Informational checks (provider features) do not fail the command. */
  optional: boolean;
  detail: string;
  ms: number;
}

function source(data: Buffer): BodySource {
  return { size: data.length, open: () => Readable.from([data]) };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function expectCode(e: unknown, code: string): string {
  if (isStrataError(e) && e.code === code) return '';
  return `expected ${code}, got ${isStrataError(e) ? `${e.code}: ${e.message}` : errorMessage(e)}`;
}

/** runChecks runs the live checks against an open backend under `prefix`, always cleaning up. */
async function runChecks(b: Backend, prefix: string, kind: string, warnings: string[]): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const data = randomBytes(64 * 1024);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const key = `${prefix}probe.bin`;
  const check = async (name: string, fn: () => Promise<string | undefined>, optional = false): Promise<boolean> => {
    const t0 = performance.now();
    let ok = true;
    let detail = '';
    try {
      const problem = await fn();
      if (problem !== undefined && problem !== '') {
        ok = false;
        detail = problem;
      }
    } catch (e) {
      ok = false;
      detail = isStrataError(e) ? `${e.code}: ${e.message}` : errorMessage(e);
      // Without credentials or a reachable server nothing else can work: stop at the first check.
      if (isStrataError(e) && (e.code === 'AUTH' || e.code === 'MISSING_TOOL' || e.code === 'CONFIG')) throw e;
    }
    results.push({ name, ok, optional, detail, ms: Math.round(performance.now() - t0) });
    return ok;
  };
  try {
    const put = await check('put (64 KiB, SHA-256 verified)', async () => {
      const info = await b.put(key, source(data), { sha256, tags: kind === 's3' ? { strata: 'check' } : undefined });
      return info.size === data.length ? '' : `put reported ${info.size} bytes`;
    });
    if (!put) return results;
    await check('get (whole object)', async () => ((await readAll(await b.get(key))).equals(data) ? '' : 'the bytes read differ from the bytes written'));
    await check('range read', async () => {
      const got = await readAll(await b.get(key, { offset: 1000, length: 100 }));
      const past = await readAll(await b.get(key, { offset: data.length + 10, length: 10 }));
      if (!got.equals(data.subarray(1000, 1100))) return 'a range read returned the wrong bytes';
      return past.length === 0 ? '' : 'a range past the end returned data';
    });
    await check('stat', async () => {
      const st = await b.stat(key);
      return st.size === data.length ? '' : `stat reported ${st.size} bytes`;
    });
    await check('SHA-256 stored with the object', async () => {
      const st = await b.stat(key);
      if (st.sha256 === undefined) return 'not stored (verified on upload only)';
      return st.sha256 === sha256 ? '' : 'the stored SHA-256 differs';
    }, true);
    if (kind === 's3') {
      await check('tags read back', async () => {
        const st = await b.stat(key);
        return st.tags?.['strata'] === 'check' ? '' : 'the provider does not keep object tags (lifecycle rules by tag will not work)';
      }, true);
    }
    await check('list', async () => {
      const keys: string[] = [];
      for await (const o of b.list(prefix)) keys.push(o.key);
      return keys.length === 1 && keys[0] === key ? '' : `listing returned ${JSON.stringify(keys)}`;
    });
    await check('refuses to overwrite', async () => {
      try {
        await b.put(key, source(Buffer.from('other')));
        return 'an existing object was replaced without overwrite';
      } catch (e) {
        return expectCode(e, 'ALREADY_EXISTS');
      }
    });
    await check('overwrite when asked', async () => {
      await b.put(key, source(Buffer.from('replaced')), { overwrite: true });
      return (await readAll(await b.get(key))).toString() === 'replaced' ? '' : 'the object was not replaced';
    });
    await check('rejects a wrong checksum, leaving nothing', async () => {
      const bad = `${prefix}bad-checksum.bin`;
      try {
        await b.put(bad, source(data), { sha256: '0'.repeat(64) });
        return 'a wrong SHA-256 was accepted';
      } catch (e) {
        const problem = expectCode(e, 'CHECKSUM');
        if (problem !== '') return problem;
      }
      try {
        await b.stat(bad);
        return 'a rejected upload is visible';
      } catch (e) {
        return expectCode(e, 'NOT_FOUND');
      }
    });
    await check('delete', async () => {
      await b.delete(key);
      try {
        await b.stat(key);
        return 'the object is still there';
      } catch (e) {
        return expectCode(e, 'NOT_FOUND');
      }
    });
    if (warnings.length > 0) results.push({ name: 'provider warnings', ok: false, optional: true, detail: warnings.join('; '), ms: 0 });
    return results;
  } finally {
    const left: string[] = [];
    try {
      for await (const o of b.list(prefix)) left.push(o.key);
    } catch {
      // Cleanup is best effort; the prefix is hidden and tiny.
    }
    await Promise.all(left.map((k) => b.delete(k).catch(() => undefined)));
    await b.delete(key).catch(() => undefined);
    // WebDAV and rclone remotes keep the emptied folder itself: remove it too (only if empty).
    await b.removeFolder?.(prefix).catch(() => undefined);
  }
}

const checkDestinationOptions = { dest: { type: 'string', value: 'DEST', help: 'the destination to try (default: the config\'s)' } } as const satisfies OptionSpecs;

/** checkDestinationCommand is `strata check-destination --dest URL [--json]`. */
export const checkDestinationCommand: Command = {
  name: 'check-destination',
  summary: 'Try a destination for real (write, read, list, delete under a temporary prefix) and show what it supports',
  usage: 'check-destination [--dest URL]   (default: the config file\'s destination)',
  options: checkDestinationOptions,
  examples: ['strata check-destination', 'strata check-destination --dest \'s3://bucket/backups?region=eu-central-1\''],
  async run(ctx: CommandContext, args: string[]): Promise<number> {
    const { values } = parseCommandArgs('check-destination', args, checkDestinationOptions);
    let input: DestinationConfig | undefined = values.dest;
    if (input === undefined) {
      // No --dest: the config's destination (--config, $STRATA_CONFIG, ./strata.yaml).
      const file = await findConfig(ctx.global.config, ctx.env);
      if (file === undefined) {
        throw new StrataError('USAGE', 'check-destination: no --dest and no config file', {
          hint: 'Pass --dest (e.g. strata check-destination --dest s3://bucket/backups?region=eu-central-1) or --config FILE.',
        });
      }
      input = (await loadConfig(file, ctx.env)).destination;
    }
    const dest = parseDestination(input);
    const description = describeDestination(dest);
    const warnings: string[] = [];
    const backend = await openBackend(dest, {
      env: ctx.env,
      onWarning: (w) => warnings.push(w),
      onDebug: (line) => ctx.out.verbose(line),
      retry: { attempts: 3 },
    });
    const prefix = `.strata-check-${randomBytes(6).toString('hex')}/`;
    ctx.out.info(`checking ${description} (under ${prefix}, removed afterwards)`);
    let results: CheckResult[];
    try {
      // A missing destination is an error here too: the probe would create it (a local folder).
      await requireRoot(backend, values.dest, dest.kind);
      results = await runChecks(backend, prefix, dest.kind, warnings);
    } finally {
      await backend.close();
    }
    const failed = results.filter((r) => !r.ok && !r.optional);
    for (const r of results) {
      const mark = r.ok ? 'ok  ' : r.optional ? 'no  ' : 'FAIL';
      ctx.out.result(`${mark} ${r.name.padEnd(40)} ${String(r.ms).padStart(6)} ms${r.detail !== '' ? `  ${r.detail}` : ''}`);
    }
    ctx.out.result(failed.length === 0 ? `${description}: usable` : `${description}: ${counted(failed.length, 'check')} failed`);
    ctx.out.data({
      destination: description,
      kind: dest.kind,
      usable: failed.length === 0,
      checks: results,
      supports: {
        sha256Stored: results.find((r) => r.name.startsWith('SHA-256'))?.ok ?? false,
        tags: dest.kind === 's3' ? (results.find((r) => r.name === 'tags read back')?.ok ?? false) : false,
      },
    });
    return failed.length === 0 ? ExitCode.ok : ExitCode.error;
  },
};
