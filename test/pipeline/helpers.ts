/** Test helpers for the backup pipeline: a corpus, real tools, a silent Output and a runBackup call. */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { findSevenZip } from '../../src/archive/sevenzip.js';
import type { Backend } from '../../src/backend/backend.js';
import { fixedClock } from '../../src/clock.js';
import { configFromFlags } from '../../src/config/load.js';
import type { StrataConfig } from '../../src/config/schema.js';
import { openParityEngine } from '../../src/parity/open.js';
import { machineIdentity } from '../../src/config/machine.js';
import { runBackup, type BackupResult, type PipelineEvent, type Tools } from '../../src/pipeline/backup/index.js';
import type { Output, Progress } from '../../src/ui/output.js';
import { tempDir } from '../helpers/tmp.js';

/** PASSWORD is the password of every test set. */
export const PASSWORD = 'pipeline-test-password';

/** silentOutput is an Output that keeps warnings only. */
export function silentOutput(warnings: string[] = []): Output {
  const none: Progress = { update: () => undefined, done: () => undefined };
  return {
    json: false,
    verbosity: 'quiet',
    result: () => undefined,
    summary: () => undefined,
    data: () => undefined,
    info: () => undefined,
    verbose: () => undefined,
    warn: (l) => warnings.push(l),
    progress: () => none,
  };
}

let tools: Tools | undefined;
/** realTools finds 7zz and par2 once. */
export async function realTools(): Promise<Tools> {
  tools ??= { sevenZip: await findSevenZip(), parity: await openParityEngine() };
  return tools;
}

/** Fixture is a source folder, a destination folder and a state folder. */
export interface Fixture {
  root: string;
  src: string;
  dest: string;
  jobDir: string;
}

/** makeFixture writes `randomKiB` of incompressible data (in 256 KiB files) plus a few text files. */
export async function makeFixture(t: TestContext, randomKiB: number): Promise<Fixture> {
  const root = await tempDir(t, 'strata-pipe-');
  const src = path.join(root, 'src');
  await fsp.mkdir(path.join(src, 'sub'), { recursive: true });
  for (let i = 0, left = randomKiB; left > 0; i++, left -= 256) await fsp.writeFile(path.join(src, `blob${i}.bin`), randomBytes(Math.min(256, left) * 1024));
  for (let i = 0; i < 5; i++) await fsp.writeFile(path.join(src, 'sub', `t${i}.txt`), `text ${i}\n`.repeat(100));
  return { root, src, dest: path.join(root, 'dest'), jobDir: path.join(root, 'state', 'jobs', 'default') };
}

/** configFor builds a config for the fixture with 64 KiB volumes, level 1 and the given changes. */
export function configFor(f: Fixture, change: (c: StrataConfig) => StrataConfig = (c) => c): StrataConfig {
  const c = configFromFlags({ sources: [f.src], dest: f.dest, volumeSize: '64KiB', level: 1 }, { HOME: f.root });
  return change(c);
}

/** backup runs one weekly backup of the fixture through runBackup. */
export async function backup(f: Fixture, backend: Backend, config: StrataConfig, onEvent?: (e: PipelineEvent) => void, at = new Date('2026-11-29T10:00:00Z')): Promise<BackupResult> {
  return runBackup({
    config,
    tier: 'weekly',
    backend,
    jobDir: f.jobDir,
    machine: await machineIdentity(path.dirname(path.dirname(f.jobDir))),
    password: PASSWORD,
    tools: await realTools(),
    out: silentOutput(),
    clock: fixedClock(at),
    signal: new AbortController().signal,
    version: 'test',
    onEvent,
    pollMs: 10,
  });
}

/** folderBytes sums the sizes of the files below a folder (0 when it is gone); files vanishing meanwhile are skipped. */
export async function folderBytes(dir: string): Promise<number> {
  let entries;
  try {
    entries = await fsp.readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return 0;
  }
  let n = 0;
  for (const e of entries) {
    if (!e.isFile()) continue;
    try {
      n += (await fsp.stat(path.join(e.parentPath, e.name))).size;
    } catch {
      // released meanwhile
    }
  }
  return n;
}
