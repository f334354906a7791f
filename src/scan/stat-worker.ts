/**
 * scan/stat-worker: the thread that runs the walk's lstat calls on a local filesystem (see
 * scan/stat-thread). It answers each request — a folder and names in it — with the fields the scan
 * reads of each path, packed STAT_FIELDS to a path into one transferred BigInt64Array, and the
 * error of each path whose lstat failed. Asked to (`hash`: a scan without a stat cache, which reads
 * every file), it also hashes each small regular file it may (hashSmallFile: the same checks as the
 * scan's own read). It holds nothing between requests.
 */
import { lstatSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { SYNC_HASH_MAX, hashSmallFile } from './hash-file.js';
import { STAT_FIELDS, type StatReply, type StatRequest } from './stat-thread.js';

const buf = Buffer.allocUnsafe(Number(SYNC_HASH_MAX));

const port = parentPort;
if (port !== null) {
  port.on('message', (req: StatRequest) => {
    const stats = new BigInt64Array(req.names.length * STAT_FIELDS);
    const errors: StatReply['errors'] = [];
    const hashes: StatReply['hashes'] = [];
    for (let i = 0; i < req.names.length; i++) {
      try {
        const abs = `${req.dir}/${req.names[i] ?? ''}`;
        const st = lstatSync(abs, { bigint: true });
        const o = i * STAT_FIELDS;
        // Unsigned fields above 2^63 (dev, ino) wrap here and are read back with BigInt.asUintN.
        stats[o] = st.dev;
        stats[o + 1] = st.ino;
        stats[o + 2] = st.mode;
        stats[o + 3] = st.nlink;
        stats[o + 4] = st.uid;
        stats[o + 5] = st.gid;
        stats[o + 6] = st.size;
        stats[o + 7] = st.blocks;
        stats[o + 8] = st.mtimeNs;
        stats[o + 9] = st.ctimeNs;
        if (req.hash !== undefined && req.hash[i] === true && st.isFile() && st.size <= SYNC_HASH_MAX) hashes.push({ index: i, outcome: hashSmallFile(abs, st, buf) });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        errors.push({ index: i, message: err.message, ...(typeof err.code === 'string' ? { code: err.code } : {}), ...(typeof err.errno === 'number' ? { errno: err.errno } : {}) });
      }
    }
    const reply: StatReply = { id: req.id, stats, errors, hashes };
    port.postMessage(reply, [stats.buffer]);
  });
  // Until this arrives the walk makes its lstat calls itself (a worker takes tens of ms to start).
  port.postMessage({ ready: true });
}
