/**
 * commands/version: `strata version` (also `strata --version`) prints strata's version and the
 * versions of the programs it drives (7zz, par2) and of Node.js, as found on this machine, so a
 * report or a support question starts from facts. A missing or too old tool is shown, not fatal.
 */
import type { Command, CommandContext } from './context.js';
import { findSevenZip } from '../archive/sevenzip.js';
import { findPar2 } from '../parity/par2cmdline.js';
import { errorMessage } from '../errors.js';
import { strataVersion } from '../version.js';

/** ToolVersion is one program as found: its version and path, or why it cannot be used. */
export type ToolVersion = { version: string; path: string } | { error: string };

/** VersionReport is what `strata version --json` prints. */
export interface VersionReport {
  strata: string;
  node: string;
  '7zz': ToolVersion;
  par2: ToolVersion;
  /** Things worth knowing about this setup (e.g. the AWS SDK's Node.js support). */
  notes: string[];
}

/** SDK_NODE_MAJOR: releases of the AWS SDK after January 2027 need this Node.js major version. */
const SDK_NODE_MAJOR = 22;

/** nodeNotes says, once and here rather than on every S3 run, what the Node.js version means. */
export function nodeNotes(nodeVersion: string): string[] {
  const major = Number(/^v(\d+)\./.exec(nodeVersion)?.[1] ?? '0');
  if (major >= SDK_NODE_MAJOR) return [];
  return [
    `Node.js ${nodeVersion} is supported by strata (Node.js ≥ 20); the AWS SDK strata pins for S3 works on it, but SDK releases after January 2027 need Node.js ≥ ${SDK_NODE_MAJOR}: upgrade Node.js before upgrading strata past them.`,
  ];
}

/** versionReport probes the tools strata needs. */
export async function versionReport(env: NodeJS.ProcessEnv): Promise<VersionReport> {
  const [strata, sevenZip, par2] = await Promise.all([
    strataVersion(),
    findSevenZip(env).then(
      (z): ToolVersion => ({ version: z.version, path: z.path }),
      (e: unknown): ToolVersion => ({ error: errorMessage(e) }),
    ),
    findPar2(env).then(
      (p): ToolVersion => ({ version: p.version, path: p.path }),
      (e: unknown): ToolVersion => ({ error: errorMessage(e) }),
    ),
  ]);
  return { strata, node: process.version, '7zz': sevenZip, par2, notes: nodeNotes(process.version) };
}

function toolLine(name: string, t: ToolVersion): string {
  return 'error' in t ? `${name.padEnd(6)} not usable: ${t.error}` : `${name.padEnd(6)} ${t.version} (${t.path})`;
}

/** versionCommand is `strata version`. */
export const versionCommand: Command = {
  name: 'version',
  summary: "Show strata's version and the versions of 7zz, par2 and Node.js it uses",
  usage: 'version',
  async run(ctx: CommandContext): Promise<number> {
    const r = await versionReport(ctx.env);
    if (ctx.out.json) {
      ctx.out.data(r);
    } else {
      ctx.out.result(`strata ${r.strata}`);
      ctx.out.result(toolLine('7zz', r['7zz']));
      ctx.out.result(toolLine('par2', r.par2));
      ctx.out.result(`${'node'.padEnd(6)} ${r.node}`);
      for (const n of r.notes) ctx.out.result(`note: ${n}`);
    }
    return 0;
  },
};
