/**
 * core/volume-stream-rules: the hold/release rules of a backup's volume stream (the upload stage
 * that runs while 7-Zip writes), as a state machine without IO. The pipeline
 * (pipeline/backup/volume-stream) tells it what happened — a volume is final, uploaded, a PAR2 unit
 * is made, 7-Zip exited — and executes what it decides: which PAR2 units are certain now (and when
 * the layout is fixed), which volumes may be deleted from staging, and when 7-Zip must pause.
 *
 * Planning (see core/protection "Streaming"): the layout (grouped or sliding; null for a direct
 * set) is fixed from an estimate of the set size (7-Zip's output so far divided by its progress;
 * the scan's byte count before any progress) the first time a unit other than the first is
 * certain. Unit 0 holds volume 001, which 7-Zip rewrites last, so it is made at the end; a unit
 * j ≥ 1 is certain as soon as volume streamingReadyAt(j) is final (sliding: the window's last
 * volume; grouped: half a group past the group's end, when no remainder can join it any more); the
 * units that depend on the final count (the window or group ending at the last volume) are made at
 * the end. If no unit was made early (small sets, or a direct estimate), the plan is planProtection
 * over the real sizes.
 *
 * Staging bound: a volume is released (deleted locally) once uploaded and once every unit that
 * covers it, or may still cover it, has its PAR2 files made and uploaded. Held are the volumes of
 * unit 0 and those from streamingOpenFrom on (which a unit not yet certain may still need: the
 * last size − 1 final volumes of a sliding set, the open group of a grouped one, up to
 * g + ⌈g/2⌉ − 1 volumes); so is every volume before the layout is fixed (a direct set keeps all
 * its volumes: ≤ directMaxBytes). Other volumes not yet released count as pending: they wait only
 * for uploads and PAR2 units already queued, never for 7-Zip, so 7-Zip is paused while
 * `maxVolumes` are pending and resumed below that without deadlock. Local volumes therefore never
 * exceed streamingStagingBound once the layout is fixed.
 *
 * After 7-Zip exits, the volumes it reports include the last one, so "volume e+1 exists" no longer
 * holds for the newest final volume: no unit becomes certain and nothing is released any more; the
 * pipeline plans the rest at the end.
 */
import type { Tier } from './naming.js';
import { streamingLayout, streamingOpenFrom, streamingReadyAt, streamingUnit, type ProtectionConfig, type ProtectionUnit, type StreamingLayout } from './protection/index.js';

/** StreamSettings is what the rules of one archive's stream depend on. */
export interface StreamSettings {
  setId: string;
  tier: Tier;
  volumeSize: number;
  /** 7-Zip pauses while this many volumes are pending (staging.maxVolumes). */
  maxVolumes: number;
  /** The scan's bytes to archive: the size estimate until 7-Zip's progress gives a better one. */
  estimatedBytes: number;
  protection: ProtectionConfig;
}

/** DueUnit is a PAR2 unit that became certain: unit `j` of the layout, to be made now. */
export interface DueUnit {
  j: number;
  unit: ProtectionUnit;
}

/** Due is what became certain after a volume turned final. */
export interface Due {
  /** The layout, when it was fixed just now (with the estimate it was fixed from). */
  layoutFixed: { strategy: StreamingLayout['strategy']; estimatedBytes: number } | null;
  units: DueUnit[];
}

/** PauseAction is what to do with 7-Zip: stop it, let it go on, or leave it as it is. */
export type PauseAction = 'pause' | 'resume' | null;

interface VolumeState {
  uploaded: boolean;
  released: boolean;
}

/** VolumeStreamRules decides, for one archive being written, what may happen to its volumes (see the module comment). */
export class VolumeStreamRules {
  private readonly vols = new Map<number, VolumeState>();
  /** Highest index e such that volumes 1…e are all final (volume 0 is final only at the end). */
  private e = 0;
  private percent = 0;
  private fixed: StreamingLayout | null = null;
  private nextJ = 1;
  private readonly doneJ = new Set<number>();
  private exited = false;

  constructor(private readonly s: StreamSettings) {}

  /** layout is the streaming layout once fixed (null: not yet, or the set stays direct). */
  get layout(): StreamingLayout | null {
    return this.fixed;
  }

  /** finalPrefix is e: volumes 1…e are all final. */
  get finalPrefix(): number {
    return this.e;
  }

  /** progress records 7-Zip's progress (percent), which refines the size estimate. */
  progress(percent: number): void {
    this.percent = percent;
  }

  /** sevenZipExited records that 7-Zip has exited: from now on nothing becomes certain or releasable. */
  sevenZipExited(): void {
    this.exited = true;
  }

  /** volumeFinal records that volume i (0-based) has its final name and contents. */
  volumeFinal(i: number): void {
    this.vols.set(i, { uploaded: false, released: false });
    while (this.vols.has(this.e + 1)) this.e++;
  }

  /** volumeUploaded records that volume i is stored on the destination. */
  volumeUploaded(i: number): void {
    const v = this.vols.get(i);
    if (v !== undefined) v.uploaded = true;
  }

  /** unitMade records that unit j's PAR2 files are made and stored. */
  unitMade(j: number): void {
    this.doneJ.add(j);
  }

  /**
   * due fixes the layout once a unit j ≥ 1 is certain, then returns every unit that became certain
   * since the last call (each once). Nothing is due after 7-Zip exited.
   */
  due(): Due {
    const none: Due = { layoutFixed: null, units: [] };
    if (this.exited) return none;
    const V = this.s.volumeSize;
    let layoutFixed: Due['layoutFixed'] = null;
    if (this.fixed === null) {
      const written = (this.e + 1) * V;
      const estimate = Math.max((this.e + 2) * V, this.percent > 0 ? Math.round(written / (this.percent / 100)) : this.s.estimatedBytes);
      const candidate = streamingLayout(this.s.tier, estimate, V, this.s.protection);
      if (candidate === null || streamingReadyAt(candidate, 1) > this.e) return none;
      this.fixed = candidate;
      layoutFixed = { strategy: candidate.strategy, estimatedBytes: estimate };
    }
    const layout = this.fixed;
    const units: DueUnit[] = [];
    while (streamingReadyAt(layout, this.nextJ) <= this.e) {
      const j = this.nextJ++;
      units.push({ j, unit: streamingUnit(this.s.setId, layout, j, V, this.s.protection) });
    }
    return { layoutFixed, units };
  }

  /** held says whether a volume must stay local whatever happens: before the layout is fixed, unit 0's, and the open span's. */
  held(i: number): boolean {
    const l = this.fixed;
    return l === null || i < l.size || i >= streamingOpenFrom(l, this.e);
  }

  private releasable(i: number, v: VolumeState): boolean {
    if (!v.uploaded || v.released) return false;
    const l = this.fixed;
    if (l === null || this.exited || this.held(i)) return false;
    // Every unit j ≥ 1 covering i (unit 0 does not: i ≥ size) must be made. Below the open span
    // these are the fixed-position units, all certain and queued: windows j with
    // j·step ≤ i ≤ j·step + size − 1; for groups (step = size) just group ⌊i/g⌋.
    for (let j = Math.max(1, Math.ceil((i - l.size + 1) / l.step)); j * l.step <= i; j++) if (!this.doneJ.has(j)) return false;
    return true;
  }

  /** release returns the volumes that may be deleted from staging now, and counts them as released. */
  release(): number[] {
    const out: number[] = [];
    for (const [i, v] of this.vols) {
      if (!this.releasable(i, v)) continue;
      v.released = true;
      out.push(i);
    }
    return out;
  }

  /** pending counts the final volumes not released that wait for an upload or a PAR2 unit (not for 7-Zip). */
  pending(): number {
    let n = 0;
    for (const [i, v] of this.vols) if (!v.released && (!v.uploaded || !this.held(i))) n++;
    return n;
  }

  /**
   * pauseAction tells whether 7-Zip must pause (maxVolumes pending) or may go on (fewer). `paused`:
   * it is paused now; `canPause`: it runs and may be stopped (the stream has not ended or failed).
   */
  pauseAction(paused: boolean, canPause: boolean): PauseAction {
    const n = this.pending();
    if (!paused && canPause && n >= this.s.maxVolumes) return 'pause';
    if (paused && n < this.s.maxVolumes) return 'resume';
    return null;
  }

  /**
   * bytesToFinish estimates the staging space the rest of the archive needs when it is finished
   * locally (7-Zip's output so far over its progress, else the scan's estimate), with two volumes
   * and `margin` bytes to spare.
   */
  bytesToFinish(margin: number): number {
    const V = this.s.volumeSize;
    const written = (this.e + 1) * V;
    const total = this.percent > 0 ? Math.max(written, Math.round(written / (this.percent / 100))) : Math.max(written, this.s.estimatedBytes);
    return total - written + 2 * V + margin;
  }

  /** volumeCount is the archive's volume count: every reported volume and the highest `also` (1-based numbers of files 7-Zip left). */
  volumeCount(also: readonly number[]): number {
    return Math.max(0, ...[...this.vols.keys()].map((i) => i + 1), ...also);
  }
}
