/**
 * End to end, as root on a filesystem with xattrs and ACLs (ext4 here): what restic and borg keep,
 * strata keeps too — a 256 MiB sparse file comes back sparse (under 1 MiB allocated), hard links come back as one inode,
 * owners (uid 1234) come back as root and stay root's with --no-owner, user.* xattrs and POSIX ACLs
 * (access and default) come back. A change of owner, xattr or ACL alone makes the next daily INCR
 * record it without archiving the contents again, and a restore reproduces it. Stock 7zz still
 * extracts the contents.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/tmp.js';
import { strataAs } from './robust-util.js';
import { PASSWORD, cli, day, jsonOf } from './util.js';

const execFileP = promisify(execFile);
/** The sparse file's size: big enough that a restore writing it in full (256 MiB) could never pass
 *  for sparse (under 1 MiB allocated); small enough that the five passes over it (hash, backup,
 *  two restores, stock 7zz) stay a few seconds. */
const SPARSE_SIZE = 256 * 1024 * 1024;

interface Box {
  root: string;
  src: string;
  dest: string;
  state: string;
}

async function box(t: TestContext): Promise<Box> {
  assert.equal(process.getuid?.(), 0, 'these tests set owners and must run as root');
  const root = await tempDir(t, 'strata-fidelity-');
  const src = path.join(root, 'src');
  await fsp.mkdir(src);
  return { root, src, dest: path.join(root, 'dest'), state: path.join(root, 'state') };
}

function common(b: Box): string[] {
  return ['--dest', b.dest, '--state', b.state];
}

async function sh(cmd: string, ...args: string[]): Promise<string> {
  return (await execFileP(cmd, args, { maxBuffer: 1 << 24 })).stdout;
}

/** xattr reads one extended attribute's value as text (getfattr --only-values). */
async function xattr(file: string, name: string): Promise<string> {
  return sh('getfattr', '--no-dereference', '--only-values', '-n', name, file);
}

/** aclEntries lists a path's ACL entries (getfacl, comments left out). */
async function aclEntries(file: string, defaults = false): Promise<string[]> {
  const text = await sh('getfacl', '--omit-header', '--numeric', ...(defaults ? ['--default'] : []), file);
  return text.split('\n').filter((l) => l !== '');
}

async function backup(b: Box, tier: string, when: string): Promise<{ type: string; archivedFiles: number; setId: string | null }> {
  const r = jsonOf<{ sources: { type: string; archivedFiles: number; setId: string | null }[] }>(await cli(['backup', '--json', '--source', b.src, ...common(b), '--tier', tier], { now: when }));
  const s = r.sources[0];
  assert.ok(s !== undefined);
  return s;
}

describe('full fidelity: holes, hard links, owners, xattrs and ACLs', () => {
  it('comes back as it was: a 256 MiB sparse file stays sparse, links stay links, owners, xattrs and ACLs stay', async (t) => {
    const b = await box(t);
    // A 256 MiB file with 8 bytes of data in the middle and holes elsewhere.
    const sparse = path.join(b.src, 'disk.img');
    const fd = fs.openSync(sparse, 'w');
    fs.writeSync(fd, Buffer.from('MIDDLE!!'), 0, 8, SPARSE_SIZE / 2);
    fs.ftruncateSync(fd, SPARSE_SIZE);
    fs.closeSync(fd);
    assert.ok(fs.statSync(sparse).blocks * 512 < 1024 * 1024, 'the source file is sparse');
    // A hard-link triple across folders, and a pair.
    await fsp.mkdir(path.join(b.src, 'a'));
    await fsp.mkdir(path.join(b.src, 'b'));
    await fsp.writeFile(path.join(b.src, 'a/one'), 'shared bytes\n'.repeat(1000));
    await fsp.link(path.join(b.src, 'a/one'), path.join(b.src, 'b/two'));
    await fsp.link(path.join(b.src, 'a/one'), path.join(b.src, 'three'));
    await fsp.writeFile(path.join(b.src, 'pair1'), 'pair');
    await fsp.link(path.join(b.src, 'pair1'), path.join(b.src, 'pair2'));
    // An owner that is not root, and a set-group-ID bit that a chown on restore must not lose.
    await fsp.writeFile(path.join(b.src, 'owned'), 'mine');
    await fsp.chown(path.join(b.src, 'owned'), 1234, 1234);
    await fsp.chmod(path.join(b.src, 'owned'), 0o2755);
    // xattrs (text and binary values), an access ACL on a file, a default ACL on a folder.
    await fsp.writeFile(path.join(b.src, 'tagged'), 'tagged');
    await sh('setfattr', '-n', 'user.color', '-v', 'blue', path.join(b.src, 'tagged'));
    await sh('setfattr', '-n', 'user.bin', '-v', '0x00ff0a3d', path.join(b.src, 'tagged'));
    await fsp.writeFile(path.join(b.src, 'acl.txt'), 'acl');
    await sh('setfacl', '-m', 'u:1234:rw-,g:4321:r--', path.join(b.src, 'acl.txt'));
    await fsp.mkdir(path.join(b.src, 'shared'));
    await sh('setfacl', '-d', '-m', 'u:1234:rwx', path.join(b.src, 'shared'));
    await sh('setfattr', '-n', 'user.dir', '-v', 'folder', path.join(b.src, 'shared'));
    const expectAcl = await aclEntries(path.join(b.src, 'acl.txt'));
    const expectDefault = await aclEntries(path.join(b.src, 'shared'), true);
    const sparseSha = (await sh('sha256sum', sparse)).split(' ')[0];

    const full = await backup(b, 'weekly', day(1));
    assert.equal(full.type, 'FULL');
    // The triple's and the pair's bytes are archived once: 9 files, 3 of them later links, and the empty folder.
    assert.equal(full.archivedFiles, 9 - 3 + 1, 'hard-linked bytes are archived once');

    const r1 = path.join(b.root, 'r1');
    const out = await cli(['restore', ...common(b), '--to', r1]);
    assert.doesNotMatch(out.stderr, /not restored/);
    // Sparse: same bytes, next to nothing allocated.
    const rs = fs.statSync(path.join(r1, 'disk.img'));
    assert.equal(rs.size, SPARSE_SIZE);
    assert.ok(rs.blocks * 512 < 1024 * 1024, `the restored file is sparse (${rs.blocks} blocks allocated)`);
    assert.equal((await sh('sha256sum', path.join(r1, 'disk.img'))).split(' ')[0], sparseSha);
    // Hard links: one inode per group.
    const one = fs.statSync(path.join(r1, 'a/one'));
    assert.equal(fs.statSync(path.join(r1, 'b/two')).ino, one.ino);
    assert.equal(fs.statSync(path.join(r1, 'three')).ino, one.ino);
    assert.equal(one.nlink, 3);
    assert.equal(fs.statSync(path.join(r1, 'pair2')).ino, fs.statSync(path.join(r1, 'pair1')).ino);
    assert.equal(await fsp.readFile(path.join(r1, 'three'), 'utf8'), 'shared bytes\n'.repeat(1000));
    // Owner, with the mode bits a chown clears put back.
    const owned = fs.statSync(path.join(r1, 'owned'));
    assert.deepEqual([owned.uid, owned.gid, owned.mode & 0o7777], [1234, 1234, 0o2755]);
    assert.equal(fs.statSync(path.join(r1, 'tagged')).uid, 0);
    // xattrs and ACLs.
    assert.equal(await xattr(path.join(r1, 'tagged'), 'user.color'), 'blue');
    const bin = await execFileP('getfattr', ['--only-values', '-n', 'user.bin', path.join(r1, 'tagged')], { encoding: 'buffer' });
    assert.deepEqual(bin.stdout, Buffer.from([0x00, 0xff, 0x0a, 0x3d]));
    assert.equal(await xattr(path.join(r1, 'shared'), 'user.dir'), 'folder');
    assert.deepEqual(await aclEntries(path.join(r1, 'acl.txt')), expectAcl);
    assert.ok(expectAcl.includes('user:1234:rw-'), expectAcl.join(' '));
    assert.deepEqual(await aclEntries(path.join(r1, 'shared'), true), expectDefault);
    assert.ok(expectDefault.includes('user:1234:rwx'), expectDefault.join(' '));

    // --no-owner: everything belongs to the restoring user (root), the rest as before.
    const r2 = path.join(b.root, 'r2');
    await cli(['restore', ...common(b), '--to', r2, '--no-owner']);
    const owned2 = fs.statSync(path.join(r2, 'owned'));
    assert.deepEqual([owned2.uid, owned2.gid], [0, 0]);
    assert.equal(fs.statSync(path.join(r2, 'three')).ino, fs.statSync(path.join(r2, 'a/one')).ino);
    assert.deepEqual(await aclEntries(path.join(r2, 'acl.txt')), expectAcl);

    // A subset naming only a later member of a link group still gets the bytes.
    const r3 = path.join(b.root, 'r3');
    await cli(['restore', ...common(b), '--to', r3, 'b/two', 'three']);
    assert.equal(await fsp.readFile(path.join(r3, 'b/two'), 'utf8'), 'shared bytes\n'.repeat(1000));
    assert.equal(fs.statSync(path.join(r3, 'three')).ino, fs.statSync(path.join(r3, 'b/two')).ino);
    assert.equal(fs.existsSync(path.join(r3, 'a/one')), false);

    // Stock 7zz still extracts the contents (each link group's bytes once, under its first path).
    const setDir = path.join(b.dest, full.setId ?? '');
    const stock = path.join(b.root, 'stock');
    // A set may be several archives (a large set is split into parts): RESTORE.txt extracts each
    // one's first volume into the same folder, and so does this.
    const firsts = (await fsp.readdir(setDir)).filter((f) => f.startsWith(full.setId ?? '') && f.endsWith('.7z.001')).sort();
    assert.ok(firsts.length >= 1, firsts.join(' '));
    for (const first of firsts) {
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn('7zz', ['x', first, `-o${stock}`], { cwd: setDir, stdio: ['pipe', 'ignore', 'pipe'] });
        child.on('error', reject);
        child.on('close', (c) => resolve(c ?? -1));
        child.stdin.end(`${PASSWORD}\n`);
      });
      assert.equal(code, 0, first);
    }
    assert.equal(fs.statSync(path.join(stock, 'disk.img')).size, SPARSE_SIZE);
    assert.equal(await fsp.readFile(path.join(stock, 'a/one'), 'utf8'), 'shared bytes\n'.repeat(1000));
    assert.equal(await fsp.readFile(path.join(stock, 'owned'), 'utf8'), 'mine');
  });

  it('notices a change of owner, xattr or ACL alone: the next daily INCR records it without archiving contents, and restore reproduces it', async (t) => {
    const b = await box(t);
    for (const n of ['chowned', 'xattred', 'acled', 'same']) await fsp.writeFile(path.join(b.src, n), `${n}\n`);
    await sh('setfattr', '-n', 'user.v', '-v', 'one', path.join(b.src, 'xattred'));
    await backup(b, 'weekly', day(1));
    // Only metadata changes (ctime moves, contents and mtimes do not).
    await fsp.chown(path.join(b.src, 'chowned'), 1234, 1234);
    await sh('setfattr', '-n', 'user.v', '-v', 'two', path.join(b.src, 'xattred'));
    await sh('setfacl', '-m', 'u:1234:r--', path.join(b.src, 'acled'));
    const incr = await backup(b, 'daily', day(2));
    assert.equal(incr.type, 'INCR');
    assert.ok(incr.setId !== null, 'a metadata-only change makes a set');
    assert.equal(incr.archivedFiles, 0, 'no contents archived again');
    const r = path.join(b.root, 'r');
    await cli(['restore', ...common(b), '--to', r]);
    const st = fs.statSync(path.join(r, 'chowned'));
    assert.deepEqual([st.uid, st.gid], [1234, 1234]);
    assert.equal(await xattr(path.join(r, 'xattred'), 'user.v'), 'two');
    assert.ok((await aclEntries(path.join(r, 'acled'))).includes('user:1234:r--'));
    assert.equal(await fsp.readFile(path.join(r, 'chowned'), 'utf8'), 'chowned\n');
    // Nothing changed since: the next daily run makes no set (the stat cache says the attributes are known).
    const again = await backup(b, 'daily', day(3));
    assert.equal(again.setId, null);
    // The audit trail shows the metadata change.
    const hist = await cli(['history', '--json', '--state', b.state, 'xattred']);
    assert.match(hist.stdout, /user\.v/);
  });

  it('owners come back right into a set-group-ID target folder of another group (files are made with the staging folder\'s group there, and only a file that already has its recorded owner is left as it is)', async (t) => {
    const b = await box(t);
    await fsp.writeFile(path.join(b.src, 'roots'), 'root:root\n');
    await fsp.writeFile(path.join(b.src, 'theirs'), 'root:1234\n');
    await fsp.chown(path.join(b.src, 'theirs'), 0, 1234);
    await fsp.mkdir(path.join(b.src, 'sub'));
    await fsp.writeFile(path.join(b.src, 'sub', 'deep'), 'root:root\n');
    await backup(b, 'weekly', day(1));
    // The target: set-group-ID, group 1234, so what is made below it gets group 1234.
    const to = path.join(b.root, 'setgid-target');
    await fsp.mkdir(to);
    await fsp.chown(to, 0, 1234);
    await fsp.chmod(to, 0o2775);
    await cli(['restore', ...common(b), '--to', to]);
    const owner = (p: string): number[] => {
      const st = fs.lstatSync(path.join(to, p));
      return [st.uid, st.gid];
    };
    assert.deepEqual(owner('roots'), [0, 0]);
    assert.deepEqual(owner('sub/deep'), [0, 0]);
    assert.deepEqual(owner('theirs'), [0, 1234]);
    assert.equal(await fsp.readFile(path.join(to, 'sub', 'deep'), 'utf8'), 'root:root\n');
  });

  it('restoring where some metadata cannot be set (as user nobody): the contents and what can be set are restored, the rest is a warning with counts, exit 0', async (t) => {
    const b = await box(t);
    const NOBODY = 65534;
    await fsp.writeFile(path.join(b.src, 'f'), 'contents');
    await sh('setfattr', '-n', 'user.ok', '-v', 'yes', path.join(b.src, 'f'));
    // trusted.* needs CAP_SYS_ADMIN to be set: root backs it up, nobody cannot restore it.
    await sh('setfattr', '-n', 'trusted.secret', '-v', 'root only', path.join(b.src, 'f'));
    await fsp.writeFile(path.join(b.src, 'owned'), 'x');
    await fsp.chown(path.join(b.src, 'owned'), 1234, 1234);
    await backup(b, 'weekly', day(1));
    for (const p of [b.root, b.dest, b.state]) await sh('chown', '-R', `${NOBODY}:${NOBODY}`, p);
    const to = path.join(b.root, 'as-nobody');
    const r = await strataAs(NOBODY, NOBODY, ['restore', '--dest', b.dest, '--state', b.state, '--to', to], { STRATA_PASSWORD: PASSWORD, HOME: b.root }, b.root);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /extended attributes\/ACLs not restored on 1 path, e\.g\. .*f: Operation not permitted/);
    assert.equal(await fsp.readFile(path.join(to, 'f'), 'utf8'), 'contents');
    assert.equal(await xattr(path.join(to, 'f'), 'user.ok'), 'yes');
    // Not root: the files belong to the user who restored them, without a warning (as with every tool).
    assert.equal(fs.statSync(path.join(to, 'owned')).uid, NOBODY);
    assert.doesNotMatch(r.stderr, /owner not restored/);
  });
});
