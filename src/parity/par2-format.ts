/**
 * parity/par2-format: the PAR2 2.0 packets and the file layout par2cmdline 0.8.1 writes for
 * `par2 create -s<block> -c<count> -n<files> -u [-f<first>]`, so a set made in-process looks like
 * one par2cmdline made (only the creator packet differs) and stock par2 verifies and repairs it.
 *
 * Packet: magic `PAR2\0PKT`, length (u64, header included), MD5 of everything from the recovery
 * set id to the end, recovery set id (MD5 of the main packet's body), type (16 bytes), body; all
 * integers little-endian, bodies a multiple of 4 bytes.
 * Layout (par2cmdline's, observed): the critical packets are main, the file descriptions, then the
 * slice checksums (IFSC), each kind in file id order. The index file `<name>.par2` holds them once,
 * then the creator packet. Recovery file k (`<name>.vol<first>+<count>.par2`, numbers zero-padded
 * to the widest) holds its recovery packets, after each of which it writes critical packets in
 * turn, `copies·criticals/count` per packet on average (copies = bit length of count), then the
 * creator packet.
 */
import { createHash } from 'node:crypto';

export const PACKET_MAGIC = Buffer.from('PAR2\0PKT', 'latin1');
export const HEADER_BYTES = 64;

/** PacketType holds the 16-byte type of each packet kind. */
export const PacketType = {
  main: Buffer.from('PAR 2.0\0Main\0\0\0\0', 'latin1'),
  fileDesc: Buffer.from('PAR 2.0\0FileDesc', 'latin1'),
  ifsc: Buffer.from('PAR 2.0\0IFSC\0\0\0\0', 'latin1'),
  creator: Buffer.from('PAR 2.0\0Creator\0', 'latin1'),
  recovery: Buffer.from('PAR 2.0\0RecvSlic', 'latin1'),
} as const;

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** pad4 pads bytes with NULs to a multiple of 4. */
function pad4(b: Buffer): Buffer {
  const r = b.length % 4;
  return r === 0 ? b : Buffer.concat([b, Buffer.alloc(4 - r)]);
}

/** packet frames a body: header (magic, length, packet hash, set id, type) + body. */
export function packet(setId: Uint8Array, type: Uint8Array, body: Uint8Array): Buffer {
  const hash = md5(setId, type, body);
  return Buffer.concat([PACKET_MAGIC, u64(HEADER_BYTES + body.length), hash, setId, type, body]);
}

/** recoveryHeader is the 68-byte start of a recovery packet (header and exponent) whose data hashes
 * (MD5 of set id, type, exponent, data) to `hash`. */
export function recoveryHeader(setId: Uint8Array, exponent: number, dataBytes: number, hash: Uint8Array): Buffer {
  return Buffer.concat([PACKET_MAGIC, u64(HEADER_BYTES + 4 + dataBytes), hash, setId, PacketType.recovery, u32(exponent)]);
}

/** recoveryHashPrefix is what the packet hash of a recovery packet covers before its data. */
export function recoveryHashPrefix(setId: Uint8Array, exponent: number): Buffer {
  return Buffer.concat([setId, PacketType.recovery, u32(exponent)]);
}

/** SourceFile is one protected file as the packets describe it. */
export interface SourceFile {
  /** Name relative to the base path, '/'-separated (as stored). */
  name: string;
  size: number;
  /** MD5 of the first 16 KiB. */
  hash16k: Uint8Array;
}

/** fileId is PAR2's file id: MD5 of the 16 KiB hash, the length and the name. */
export function fileId(f: SourceFile): Buffer {
  return md5(f.hash16k, u64(f.size), Buffer.from(f.name, 'utf8'));
}

/** compareIds orders file ids as PAR2 does: as 16-byte little-endian unsigned integers. */
export function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 15; i >= 0; i--) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** mainBody is the main packet's body: slice size, file count and the (sorted) file ids. */
export function mainBody(sliceSize: number, sortedIds: readonly Uint8Array[]): Buffer {
  return Buffer.concat([u64(sliceSize), u32(sortedIds.length), ...sortedIds]);
}

/** fileDescBody is a file description packet's body. */
export function fileDescBody(id: Uint8Array, hashFull: Uint8Array, f: SourceFile): Buffer {
  return Buffer.concat([id, hashFull, f.hash16k, u64(f.size), pad4(Buffer.from(f.name, 'utf8'))]);
}

/** ifscBody is an input file slice checksum packet's body: the file id, then MD5 and CRC32 per slice. */
export function ifscBody(id: Uint8Array, slices: readonly { md5: Uint8Array; crc32: number }[]): Buffer {
  return Buffer.concat([id, ...slices.flatMap((s) => [s.md5, u32(s.crc32)])]);
}

/** creatorBody is the creator packet's body. */
export function creatorBody(text: string): Buffer {
  return pad4(Buffer.from(text, 'ascii'));
}

/** fileDescBytes is the size of a file description packet for a name (known before any hashing). */
export function fileDescBytes(name: string): number {
  return HEADER_BYTES + 56 + Math.ceil(Buffer.byteLength(name, 'utf8') / 4) * 4;
}

/** ifscBytes is the size of an IFSC packet for a file of `slices` slices. */
export function ifscBytes(slices: number): number {
  return HEADER_BYTES + 16 + 20 * slices;
}

/** RecoveryFile is one file par2 writes for a unit: its name and the exponents it carries. */
export interface RecoveryFile {
  name: string;
  firstExponent: number;
  count: number;
}

/**
 * recoveryFiles names the files of `par2 create -c<count> -n<files> -u -f<first>` for base name
 * `name`: the vol files (uniform: the first count % files get one block more), then the index file.
 */
export function recoveryFiles(name: string, count: number, files: number, first = 0): RecoveryFile[] {
  const n = count === 0 ? 0 : Math.min(files, count);
  const base = n === 0 ? 0 : Math.floor(count / n);
  const extra = n === 0 ? 0 : count % n;
  const alloc: { firstExponent: number; count: number }[] = [];
  let e = first;
  for (let k = 0; k < n; k++) {
    const c = k < extra ? base + 1 : base;
    alloc.push({ firstExponent: e, count: c });
    e += c;
  }
  const widthLow = String(Math.max(e, ...alloc.map((a) => a.firstExponent))).length;
  const widthCount = String(Math.max(0, ...alloc.map((a) => a.count))).length;
  const vols = alloc.map((a) => ({ ...a, name: `${name}.vol${String(a.firstExponent).padStart(widthLow, '0')}+${String(a.count).padStart(widthCount, '0')}.par2` }));
  return [...vols, { name: `${name}.par2`, firstExponent: e, count: 0 }];
}

/** Entry is one packet in a file's layout: a critical packet (index into the critical list), the creator, or recovery exponent e. */
export type Entry = { kind: 'critical'; index: number } | { kind: 'creator' } | { kind: 'recovery'; exponent: number };

/** fileLayout lists the packets of one file in par2cmdline's order (see the module comment). */
export function fileLayout(file: RecoveryFile, criticalCount: number): Entry[] {
  const out: Entry[] = [];
  if (file.count === 0) {
    for (let i = 0; i < criticalCount; i++) out.push({ kind: 'critical', index: i });
  } else {
    const copies = Math.floor(Math.log2(file.count)) + 1;
    let pending = 0;
    let next = 0;
    for (let e = file.firstExponent; e < file.firstExponent + file.count; e++) {
      out.push({ kind: 'recovery', exponent: e });
      pending += copies * criticalCount;
      while (pending >= file.count) {
        out.push({ kind: 'critical', index: next });
        next = (next + 1) % criticalCount;
        pending -= file.count;
      }
    }
  }
  out.push({ kind: 'creator' });
  return out;
}
