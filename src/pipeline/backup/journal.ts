/**
 * pipeline/backup/journal: the resume journal of a set whose 7-Zip archive was completely written but is
 * not yet complete on the destination (an upload failed, or the run was killed).
 *
 * An encrypted archive cannot be made again byte for byte (7-Zip picks a fresh random salt and IV
 * each run), so a set can only be resumed with the very volumes of the run that wrote them. The
 * journal `<staging>/<set>.resume.json` names them: the set, the scan and settings they were made
 * from (fingerprints), every object with its size and SHA-256 and whether it is known to be on the
 * destination. It is written atomically (temporary file, fsync, rename) and sealed with an HMAC
 * keyed from the password (scrypt, as descriptors are), so a torn or edited journal, or one made
 * with another password, is never trusted; the objects it names are checked by hash before use.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { canonicalJson, deriveKeys, type KdfParams, type StoredObject } from '../../core/descriptor.js';
import type { SetType, Tier } from '../../core/naming.js';
import type { SetPart } from '../../core/parts.js';
import type { ProtectionUnit, StreamingLayout } from '../../core/protection/index.js';
import { errnoCode, errorMessage } from '../../errors.js';

const JOURNAL_SUFFIX = '.resume.json';

/** JournalObject is one object of the set and whether it is known to be on the destination. */
export interface JournalObject extends StoredObject {
  uploaded: boolean;
}

/** JournalUnit is a PAR2 unit whose recovery files were made (and hashed) by the run. */
export interface JournalUnit {
  unit: ProtectionUnit;
  files: JournalObject[];
}

/** JournalManifest is the set's encrypted manifest and its PAR2 set, once made. */
export interface JournalManifest {
  /** SHA-256 of the plaintext manifest inside `object`: reused only for the very same text. */
  plainSha256: string;
  object: JournalObject;
  unit: ProtectionUnit;
  recovery: JournalObject[];
}

/** ResumeJournal is the content of `<staging>/<set>.resume.json`. */
export interface ResumeJournal {
  format: 'strata-resume';
  version: 1;
  job: string;
  setId: string;
  source: string;
  tier: Tier;
  type: SetType;
  base: string | null;
  /** The run's time: the set's id, manifest header and descriptor keep it on resume. */
  created: string;
  /** SHA-256 of the scan's entries file and archive list (before the post-archive check). */
  scanSha256: string;
  /** canonicalJson of the settings that shape the archive and its PAR2 plan (settingsFingerprint). */
  settings: string;
  volumes: JournalObject[];
  /** The archives the volumes belong to, in order (core/parts); absent: one LZMA2 archive `<set>.7z`. */
  parts?: SetPart[];
  /** The streaming PAR2 layout fixed while archiving; null: planned over the real sizes at the end. */
  layout: StreamingLayout | null;
  units: JournalUnit[];
  manifest: JournalManifest | null;
  kdf: KdfParams;
  /** HMAC (password-derived key) over the canonical JSON of every other field. */
  hmac: string;
}

/** JournalBody is a journal before sealing. */
export type JournalBody = Omit<ResumeJournal, 'kdf' | 'hmac'>;

/** journalFile is where a set's journal lives in the staging folder. */
export function journalFile(staging: string, setId: string): string {
  return path.join(staging, `${setId}${JOURNAL_SUFFIX}`);
}

/** setStaging names a set's local folders in the staging folder: its objects (setDir) and the scan's work folder. */
export function setStaging(staging: string, setId: string): { setDir: string; work: string } {
  return { setDir: path.join(staging, setId), work: path.join(staging, `${setId}.work`) };
}

/** settingsFingerprint renders the settings an archive depends on; any change forbids a resume. */
export function settingsFingerprint(s: { level: number; volumeSize: number; protection: unknown }): string {
  return canonicalJson({ level: s.level, volumeSize: s.volumeSize, protection: s.protection });
}

function mac(password: string, kdf: KdfParams, body: JournalBody): string {
  return createHmac('sha256', deriveKeys(password, kdf).mac).update('strata resume journal\n' + canonicalJson(body)).digest('hex');
}

/**
 * Journal keeps one set's journal in memory and on disk. Every save rewrites the whole file
 * atomically: readers see the previous or the next state, never a mix.
 */
export class Journal {
  // A journal is sealed with its set's KDF parameters (salt): the keys are derived once per run
  // (deriveKeys caches them), every save is a cheap HMAC, and the message prefix keeps journal and
  // descriptor MACs apart.
  private constructor(readonly file: string, readonly body: JournalBody, private readonly password: string, private readonly kdf: KdfParams) {}

  /** create writes a new journal, sealed with the set's KDF parameters. */
  static async create(staging: string, body: JournalBody, password: string, kdf: KdfParams): Promise<Journal> {
    const j = new Journal(journalFile(staging, body.setId), body, password, kdf);
    await j.save();
    return j;
  }

  /**
   * load reads and checks a journal; it returns a reason instead when the file is torn, of another
   * format, sealed with another password, or edited.
   */
  static async load(file: string, password: string): Promise<Journal | { invalid: string }> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fsp.readFile(file, 'utf8'));
    } catch (e) {
      return { invalid: `unreadable (${errorMessage(e)})` };
    }
    if (typeof parsed !== 'object' || parsed === null) return { invalid: 'not a journal' };
    const j = parsed as Partial<ResumeJournal>;
    if (j.format !== 'strata-resume' || j.version !== 1 || typeof j.hmac !== 'string' || typeof j.kdf !== 'object' || j.kdf === null || typeof j.setId !== 'string' || !Array.isArray(j.volumes) || !Array.isArray(j.units)) {
      return { invalid: 'not a journal of this strata version' };
    }
    const { hmac, kdf, ...body } = j as ResumeJournal;
    const want = Buffer.from(mac(password, kdf, body), 'hex');
    const got = Buffer.from(hmac, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { invalid: 'made with another password, or altered' };
    if (path.basename(file) !== `${body.setId}${JOURNAL_SUFFIX}`) return { invalid: `names set ${body.setId}, not its file name` };
    return new Journal(file, body, password, kdf);
  }

  /** list finds the journal files of a staging folder. */
  static async list(staging: string): Promise<string[]> {
    try {
      return (await fsp.readdir(staging)).filter((n) => n.endsWith(JOURNAL_SUFFIX)).map((n) => path.join(staging, n));
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return [];
      throw e;
    }
  }

  /** save writes the journal atomically: a temporary file, fsync, rename over the old one. */
  async save(): Promise<void> {
    const sealed: ResumeJournal = { ...this.body, kdf: this.kdf, hmac: mac(this.password, this.kdf, this.body) };
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fh = await fsp.open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(sealed) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, this.file);
  }

  /** remove deletes the journal (the set is complete, or will not be resumed). */
  async remove(): Promise<void> {
    await fsp.rm(this.file, { force: true });
  }

  /** objects lists every object the journal names, in upload order. */
  objects(): JournalObject[] {
    const b = this.body;
    return [...b.volumes, ...b.units.flatMap((u) => u.files), ...(b.manifest === null ? [] : [b.manifest.object, ...b.manifest.recovery])];
  }
}

/** ResumeCandidate is a journaled set whose unfinished folder on the destination is ours. */
export interface ResumeCandidate {
  journal: Journal;
  /** Every key of the set's folder on the destination (removed when the set is not resumed). */
  keys: string[];
}

/** stored drops the journal's bookkeeping from an object. */
export function stored(o: JournalObject): StoredObject {
  return { name: o.name, size: o.size, sha256: o.sha256 };
}
