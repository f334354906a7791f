/**
 * verify --remote / --read-data (pipeline/remote-verify and the verify command), on a local
 * destination: the provider's sizes and SHA-256 are compared without a single download, missing
 * and damaged objects are named, reading hashes the bytes (all of them or a seeded sample), the
 * descriptor HMAC is checked when a password is there, and the CLI's exit codes are 0 and 13.
 */
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import type { Backend, BodySource, ByteRange, ObjectInfo, PutOptions } from '../../src/backend/backend.js';
import { LocalBackend } from '../../src/backend/local.js';
import type { Descriptor, StoredObject } from '../../src/core/descriptor.js';
import { isStrataError } from '../../src/errors.js';
import { parseReadPercent, runRemoteVerify, sampleObjects, type RemoteVerifyRequest } from '../../src/pipeline/remote-verify.js';
import { Repository } from '../../src/repository/repository.js';
import { hashFile } from '../../src/io/hash.js';
import { strata } from '../helpers/cli.js';
import { PASSWORD, backup, configFor, makeFixture, silentOutput, type Fixture } from './helpers.js';

/** HashReportingBackend is a local folder that reports SHA-256 in stat() like S3 and WebDAV do
 * (optionally), and counts get() calls, so that "no downloads" can be asserted. */
class HashReportingBackend implements Backend {
  readonly description = 'test backend';
  gets = 0;
  stats = 0;
  constructor(private readonly inner: LocalBackend, private readonly reportHashes: boolean) {}
  put(key: string, body: BodySource, options?: PutOptions): Promise<ObjectInfo> {
    return this.inner.put(key, body, options);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    this.gets++;
    return this.inner.get(key, range);
  }
  async stat(key: string): Promise<ObjectInfo> {
    this.stats++;
    const info = await this.inner.stat(key);
    if (this.reportHashes) info.sha256 = (await hashFile(this.inner.localPath(key))).sha256;
    return info;
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Made {
  f: Fixture;
  d: Descriptor;
}

async function makeSet(t: TestContext): Promise<Made> {
  const f = await makeFixture(t, 400);
  const r = await backup(f, new LocalBackend(f.dest), configFor(f));
  const id = r.sources[0]?.setId;
  assert.ok(typeof id === 'string');
  const d = await new Repository(new LocalBackend(f.dest)).readDescriptor(id);
  assert.ok(d.volumes.length >= 4, `expected several volumes, got ${d.volumes.length}`);
  return { f, d };
}

function request(backend: Backend, d: Descriptor, extra: Partial<RemoteVerifyRequest> = {}): RemoteVerifyRequest {
  return { repo: new Repository(backend), sets: [d], password: PASSWORD, out: silentOutput(), signal: new AbortController().signal, ...extra };
}

/** corrupt flips bytes in the middle of a stored object, keeping its size. */
async function corrupt(file: string): Promise<void> {
  const buf = await fsp.readFile(file);
  for (let i = 0; i < 64; i++) buf[(buf.length >> 1) + i] = (buf[(buf.length >> 1) + i] ?? 0) ^ 0xff;
  await fsp.writeFile(file, buf);
}

const objectsOf = (d: Descriptor): StoredObject[] => [...d.volumes, d.manifest, ...d.recovery];

describe('verify --remote / --read-data', () => {
  it('parses --read-data percentages and refuses nonsense', () => {
    assert.equal(parseReadPercent(undefined), 100);
    assert.equal(parseReadPercent(''), 100);
    assert.equal(parseReadPercent('10'), 10);
    assert.equal(parseReadPercent('2.5%'), 2.5);
    assert.equal(parseReadPercent('100%'), 100);
    for (const bad of ['0', '0%', '101', '-5', 'ten', '10%%', '1e2']) {
      assert.throws(() => parseReadPercent(bad), (e) => isStrataError(e, 'USAGE'), bad);
    }
  });

  it('samples about the asked share of bytes, the same objects for the same seed', () => {
    const objects: StoredObject[] = Array.from({ length: 40 }, (_, i) => ({ name: `s.7z.${String(i + 1).padStart(3, '0')}`, size: 1000 + i * 10, sha256: '0'.repeat(64) }));
    const total = objects.reduce((s, o) => s + o.size, 0);
    const a = sampleObjects('s', objects, 25, 'seed-1');
    const bytes = a.reduce((s, o) => s + o.size, 0);
    assert.ok(bytes >= total * 0.25 && bytes < total * 0.25 + 1500, `sampled ${bytes} of ${total} bytes`);
    assert.deepEqual(sampleObjects('s', objects, 25, 'seed-1'), a, 'same seed, same sample');
    assert.notDeepEqual(sampleObjects('s', objects, 25, 'seed-2').map((o) => o.name), a.map((o) => o.name), 'another seed, another sample');
    assert.equal(sampleObjects('s', objects, 0.001, 'x').length, 1, 'at least one object');
    assert.deepEqual(sampleObjects('s', objects, 100, 'x'), objects);
  });

  it('--remote: compares sizes and provider hashes without downloading, and names missing and damaged objects', async (t) => {
    const { f, d } = await makeSet(t);
    const backend = new HashReportingBackend(new LocalBackend(f.dest), true);
    const [ok] = await runRemoteVerify(request(backend, d));
    assert.equal(ok?.status, 'ok');
    assert.equal(ok.descriptor, 'ok');
    assert.equal(ok.objects, objectsOf(d).length);
    assert.equal(ok.sizeOk, ok.objects);
    assert.equal(ok.providerHashOk, ok.objects);
    assert.equal(backend.gets, 0, 'no object read');

    const [v1, v2, v3] = d.volumes;
    assert.ok(v1 !== undefined && v2 !== undefined && v3 !== undefined);
    await fsp.rm(path.join(f.dest, d.id, v1.name));
    await corrupt(path.join(f.dest, d.id, v2.name));
    await fsp.appendFile(path.join(f.dest, d.id, v3.name), 'x');
    const [bad] = await runRemoteVerify(request(backend, d));
    assert.equal(bad?.status, 'damaged');
    assert.deepEqual(bad.problems.map((p) => [p.name, p.state]), [[v1.name, 'missing'], [v2.name, 'hash-mismatch'], [v3.name, 'size-mismatch']]);
    assert.equal(bad.providerHashOk, bad.objects - 3);
    assert.equal(backend.gets, 0, 'still no object read');
  });

  it('--remote on a provider without hashes checks sizes only and says so; --read-data finds what sizes cannot', async (t) => {
    const { f, d } = await makeSet(t);
    const backend = new HashReportingBackend(new LocalBackend(f.dest), false);
    const victim = d.volumes[1];
    assert.ok(victim !== undefined);
    await corrupt(path.join(f.dest, d.id, victim.name));
    const [sizes] = await runRemoteVerify(request(backend, d));
    assert.equal(sizes?.status, 'ok', 'same size: invisible without hashes');
    assert.equal(sizes.providerHashOk, 0);
    assert.ok(backend.stats <= 4, `gave up asking for hashes after the first answers (${backend.stats} stats)`);
    assert.ok(sizes.messages.some((m) => /reports no SHA-256: sizes checked only/.test(m)), sizes.messages.join('\n'));

    const [read] = await runRemoteVerify(request(backend, d, { readPercent: 100 }));
    assert.equal(read?.status, 'damaged');
    assert.deepEqual(read.problems.map((p) => [p.name, p.state]), [[victim.name, 'hash-mismatch']]);
    assert.equal(read.sampled, read.objects);
    assert.equal(read.readOk, read.objects - 1);
    assert.equal(backend.gets, read.objects + 1, 'every object read exactly once, and RESTORE.txt');
  });

  it('--read-data=PERCENT reads a seeded sample of about that share', async (t) => {
    const { f, d } = await makeSet(t);
    const backend = new HashReportingBackend(new LocalBackend(f.dest), false);
    const [v] = await runRemoteVerify(request(backend, d, { readPercent: 30, seed: 'abc' }));
    const total = objectsOf(d).reduce((s, o) => s + o.size, 0);
    assert.equal(v?.status, 'ok');
    assert.ok(v.sampled > 0 && v.sampled < v.objects, `sampled ${v.sampled} of ${v.objects}`);
    assert.equal(v.readOk, v.sampled);
    assert.equal(backend.gets, v.sampled + 1, 'the sample, and RESTORE.txt');
    assert.ok(v.readBytes >= total * 0.3, `read ${v.readBytes} of ${total} bytes`);
    assert.deepEqual(sampleObjects(d.id, objectsOf(d), 30, 'abc').map((o) => o.size).reduce((a, b) => a + b, 0), v.readBytes);
  });

  it('checks the descriptor HMAC when the password is there, and works without it', async (t) => {
    const { f, d } = await makeSet(t);
    const backend = new LocalBackend(f.dest);
    const [none] = await runRemoteVerify(request(backend, d, { password: null }));
    assert.equal(none?.status, 'ok');
    assert.equal(none.descriptor, 'skipped');
    const [wrong] = await runRemoteVerify(request(backend, d, { password: 'not the password' }));
    assert.equal(wrong?.status, 'wrong-password');
    const [tampered] = await runRemoteVerify(request(backend, { ...d, tier: 'yearly' }));
    assert.equal(tampered?.status, 'tampered');
  });

  it('CLI: exit 0 when clean, 13 with damage, no password needed, --repair refused with --remote', async (t) => {
    const { f, d } = await makeSet(t);
    const state = path.join(f.root, 'cli-state');
    const run = (args: string[], env: Record<string, string | undefined> = {}) => strata(['verify', '--dest', f.dest, '--state', state, ...args], { env, cwd: f.root });
    const clean = await run(['--remote', '--json']);
    assert.equal(clean.code, 0, clean.stderr);
    const doc = JSON.parse(clean.stdout) as { mode: string; sets: { id: string; status: string; descriptor: string }[]; exitCode: number };
    assert.equal(doc.mode, 'remote');
    assert.deepEqual(doc.sets.map((s) => [s.id, s.status, s.descriptor]), [[d.id, 'ok', 'skipped']]);
    assert.match(clean.stderr, /no password given/);
    const withPw = await run(['--read-data'], { STRATA_PASSWORD: PASSWORD });
    assert.equal(withPw.code, 0, withPw.stderr);
    assert.match(withPw.stdout, new RegExp(`${d.id}: OK .*${objectsOf(d).length}/${objectsOf(d).length} read and hashed, descriptor HMAC ok`));

    const victim = d.volumes[0];
    assert.ok(victim !== undefined);
    await corrupt(path.join(f.dest, d.id, victim.name));
    const damaged = await run(['--read-data=50%', '--seed', 'x']);
    const sampled = sampleObjects(d.id, objectsOf(d), 50, 'x').some((o) => o.name === victim.name);
    assert.equal(damaged.code, sampled ? 13 : 0, damaged.stdout + damaged.stderr);
    const full = await run(['--read-data']);
    assert.equal(full.code, 13, full.stdout + full.stderr);
    assert.match(full.stdout, new RegExp(`hash-mismatch: ${victim.name.replace(/\./g, '\\.')}`));
    assert.match(full.stderr, /verify --repair/);
    const both = await run(['--remote', '--repair']);
    assert.equal(both.code, 2, both.stderr);
    const badPct = await run(['--read-data=0']);
    assert.equal(badPct.code, 2, badPct.stderr);
  });
});
