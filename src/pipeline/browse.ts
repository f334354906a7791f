/**
 * pipeline/browse: the manifests of a destination's sets, read on this machine without extracting
 * any data — for ls, find and diff (core/browse) and for rebuilding the audit trail. Each manifest is
 * fetched once, checked against its HMAC-sealed descriptor, decrypted and kept in the state folder
 * (pipeline/manifests); the password is checked against each set's descriptor first.
 */
import * as path from 'node:path';
import { byCreated, restoreScope } from '../core/catalog.js';
import type { Descriptor } from '../core/descriptor.js';
import type { ManifestEntry } from '../core/manifest.js';
import { StrataError } from '../errors.js';
import type { Catalog, Repository } from '../repository/repository.js';
import type { Tools } from './backup.js';
import { ensureLocalManifest, readEntries } from './manifests.js';
import { chooseSets } from '../core/restore-choice.js';
import { checkPassword } from './restore/index.js';

/** Scope is what a browsing command was asked to read: like restore's --set/--at/--source/--job/--host. */
export interface Scope {
  setId?: string | undefined;
  at?: Date | undefined;
  source?: string | undefined;
  job?: string | undefined;
  host?: string | undefined;
  /** This machine's id, when its state folder has one (its own sets are preferred, as in restore). */
  machineId?: string | undefined;
}

/** Manifests reads the manifests of one destination's sets. */
export class Manifests {
  private constructor(
    readonly repo: Repository,
    readonly catalog: Catalog,
    private readonly tools: Tools,
    private readonly password: string,
    /** Where plaintext manifests are kept (the state folder's, shared with restore). */
    private readonly cacheDir: string,
  ) {}

  /** open reads the destination's catalog. */
  static async open(repo: Repository, tools: Tools, password: string, workDir: string): Promise<Manifests> {
    return new Manifests(repo, await repo.catalog(), tools, password, path.join(workDir, 'manifests'));
  }

  /** complete is every complete set whose descriptor could be read. */
  get complete(): readonly Descriptor[] {
    return this.catalog.complete;
  }

  /** byId returns a complete set, refusing an unknown id or one whose descriptor cannot be read. */
  byId(id: string): Descriptor {
    const problem = this.catalog.problems.find((p) => p.id === id);
    if (problem !== undefined) {
      throw new StrataError(problem.tampered === true ? 'TAMPERED' : 'DAMAGED', `set ${id} cannot be read: ${problem.message}`, { hint: 'Pick another set (strata list shows them).' });
    }
    const d = this.catalog.complete.find((s) => s.id === id);
    if (d === undefined) throw new StrataError('NOT_FOUND', `no complete set ${id} on the destination`, { hint: 'strata list shows the sets there.' });
    return d;
  }

  /** chosen returns, per source, the set restore would restore with the same options (the newest, or at --at, or --set). */
  chosen(scope: Scope): Descriptor[] {
    if (scope.setId !== undefined) this.byId(scope.setId);
    return chooseSets(this.catalog.complete, scope);
  }

  /** inScope returns every set of the one job and machine restore would read (oldest first), refused as restore refuses. */
  inScope(scope: Omit<Scope, 'setId' | 'at'>): Descriptor[] {
    // chooseSets says why there is no single job and machine, with the candidates.
    chooseSets(this.catalog.complete, scope);
    const r = restoreScope(this.catalog.complete, scope);
    if (!r.ok) throw new StrataError('INTERNAL', 'the scope of the sets changed while it was read');
    return [...r.sets].sort(byCreated);
  }

  /** file returns the local plaintext manifest of a set (password checked against its descriptor first). */
  async file(d: Descriptor): Promise<string> {
    checkPassword(d, this.password, this.catalog.complete);
    return ensureLocalManifest(this.repo, d, this.tools.sevenZip, this.password, this.cacheDir, this.tools.parity);
  }

  /** entries streams a set's live entries, in pathCompare order. */
  async entries(d: Descriptor): Promise<AsyncGenerator<ManifestEntry>> {
    return readEntries(await this.file(d));
  }
}
