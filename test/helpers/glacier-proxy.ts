/**
 * Test helper: an HTTP proxy in front of the real Ceph RGW that enforces S3's archive semantics,
 * which RGW stores (the storage class) but does not enforce. Everything is forwarded unchanged —
 * the Host header too, so the client's SigV4 signature (made for the proxy's address) still checks
 * out at RGW — except:
 * - GET of an object whose storage class (RGW's x-amz-storage-class response header) is GLACIER or
 *   DEEP_ARCHIVE answers 403 InvalidObjectState until a restore of it has finished;
 * - HEAD of such an object gets `x-amz-restore: ongoing-request="true"` while its restore is under
 *   way, then `ongoing-request="false", expiry-date="…"`;
 * - POST ?restore (RGW answers 501 for non-cloud tiers) is answered here as AWS documents it: 202
 *   the first time, 409 RestoreAlreadyInProgress while ongoing, 200 once restored, 403
 *   InvalidObjectState for an object not in an archive class. The proxy asks RGW for the class
 *   with its own HeadObject. Each request is recorded (key and tier) for the test to count.
 * The test decides when restores finish (finishRestores()) and when restored copies expire (expireRestores()).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { systemClock } from '../../src/clock.js';

const COLD = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** GlacierProxy is a running proxy. */
export interface GlacierProxy {
  /** The endpoint to give the client (http://127.0.0.1:PORT). */
  endpoint: string;
  /** Every POST ?restore received, in order: `bucket/key` and the requested tier. */
  restoreRequests: { key: string; tier: string; status: number }[];
  /** GETs answered 403 InvalidObjectState (`bucket/key`). */
  refusedGets: string[];
  /** Marks every ongoing restore finished: HEAD shows the expiry, GET works. */
  finishRestores(): void;
  /** Lets every restored copy expire (as AWS does after the requested days): archived again, a new restore request needed. */
  expireRestores(): void;
  close(): Promise<void>;
}

/** startGlacierProxy starts a proxy to `target` (RGW) on a free local port. */
export async function startGlacierProxy(opts: { target: string; accessKeyId: string; secretAccessKey: string }): Promise<GlacierProxy> {
  const target = new URL(opts.target);
  const client = new S3Client({ endpoint: opts.target, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } });
  const state = new Map<string, 'ongoing' | 'restored'>();
  const restoreRequests: GlacierProxy['restoreRequests'] = [];
  const refusedGets: string[] = [];

  const objectOf = (url: URL): { bucket: string; key: string } | undefined => {
    const parts = url.pathname.split('/').slice(1);
    const bucket = parts.shift();
    if (bucket === undefined || bucket === '' || parts.length === 0) return undefined;
    return { bucket: decodeURIComponent(bucket), key: parts.map(decodeURIComponent).join('/') };
  };
  const xmlError = (res: http.ServerResponse, status: number, code: string, message: string): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const readBody = async (req: http.IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const restore = async (req: http.IncomingMessage, res: http.ServerResponse, obj: { bucket: string; key: string }): Promise<void> => {
    const body = await readBody(req);
    const tier = /<Tier>([^<]*)<\/Tier>/.exec(body)?.[1] ?? 'Standard';
    const id = `${obj.bucket}/${obj.key}`;
    let cls: string;
    try {
      cls = (await client.send(new HeadObjectCommand({ Bucket: obj.bucket, Key: obj.key }))).StorageClass ?? 'STANDARD';
    } catch {
      xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      return;
    }
    const record = (status: number): void => {
      restoreRequests.push({ key: id, tier, status });
    };
    if (!COLD.has(cls)) {
      record(403);
      xmlError(res, 403, 'InvalidObjectState', 'Restore is not allowed for the object\'s current storage class');
      return;
    }
    const s = state.get(id);
    if (s === 'ongoing') {
      record(409);
      xmlError(res, 409, 'RestoreAlreadyInProgress', 'Object restore is already in progress');
      return;
    }
    record(s === 'restored' ? 200 : 202);
    if (s === undefined) state.set(id, 'ongoing');
    res.writeHead(s === 'restored' ? 200 : 202, { 'content-length': 0 });
    res.end();
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, obj: { bucket: string; key: string } | undefined): void => {
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      const cls = ur.headers['x-amz-storage-class'];
      const id = obj === undefined ? '' : `${obj.bucket}/${obj.key}`;
      const cold = obj !== undefined && typeof cls === 'string' && COLD.has(cls) && (ur.statusCode ?? 0) < 300;
      const s = state.get(id);
      if (cold && req.method === 'GET' && s !== 'restored') {
        ur.resume();
        refusedGets.push(id);
        xmlError(res, 403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class');
        return;
      }
      const headers = { ...ur.headers };
      if (cold && s !== undefined) {
        headers['x-amz-restore'] = s === 'ongoing' ? 'ongoing-request="true"' : `ongoing-request="false", expiry-date="${new Date(systemClock.now().getTime() + 7 * 86_400_000).toUTCString()}"`;
      }
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.pipe(res);
    });
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const obj = objectOf(url);
    if (req.method === 'POST' && url.searchParams.has('restore') && obj !== undefined) {
      restore(req, res, obj).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    forward(req, res, obj);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    restoreRequests,
    refusedGets,
    finishRestores() {
      for (const [k, v] of state) if (v === 'ongoing') state.set(k, 'restored');
    },
    expireRestores() {
      for (const [k, v] of state) if (v === 'restored') state.delete(k);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
    },
  };
}
