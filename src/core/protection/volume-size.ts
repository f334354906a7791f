/**
 * core/protection/volume-size: the volume size of a set, chosen from its expected size. The
 * configured volume size (archive.<tier>.volumeSize, --volume-size) is the maximum.
 *
 * Why: each unit must rebuild its largest volume (minWholeVolumes), so a set of few volumes pays
 * one volume of recovery data whatever the table says: a 250 MiB weekly set in 100 MiB volumes
 * got 40 % instead of 15 %. Cut into n volumes, losing one costs 1/n of the set, so n ≥ 100/p
 * volumes keep the recovery data at the table's p % (plus block rounding).
 *
 * The archive's size is known only when 7-Zip has finished; the scan knows the raw bytes. The
 * size is chosen for the raw bytes (the worst case: nothing compresses) with room for the archive
 * to shrink: `compressionMargin` × 100/p volumes, so an archive half the raw size still has
 * 100/p volumes and the table's percentage. An archive smaller still has fewer volumes: the PAR2
 * plan is made from the real volumes at the end (planProtection), which raises the recovery to
 * one whole volume as long as that is within maxRedundancyPercent (50 %: at least two volumes), so
 * the guarantee holds while the archive has at least two volumes, i.e. is at least 2/n of the raw
 * size, and only the percentage rises. At least `minVolumes` (10) volumes: the guarantee then
 * holds down to an archive about a fifth of the raw size (a quarter with volume rounding) (monthly 30 % alone would ask for 7 volumes,
 * and text compresses to 20–30 %); weekly (15 %) gets 14 volumes, daily (10 %) 20.
 *
 * Floors: no volume under `minVolumeBytes` (1 MiB: every volume is an object with its own request
 * and round trip on a remote destination — at 1 MiB and 20–50 ms per request that is about the
 * transfer time of the data itself at 20–50 MB/s, smaller would be dominated by requests), except
 * that a set too small for `minVolumes` volumes of that size is cut into `minVolumes` volumes (not
 * under MIN_VOLUME_SIZE, 64 KiB): a few small objects for a small set, and a whole lost volume
 * stays rebuildable.
 *
 * Cost: PAR2 blocks follow the volume size (about 32 per volume), so more volumes mean more, smaller
 * blocks and more PAR2 work per byte of recovery data (a 250 MiB weekly set: 67 recovery blocks of
 * 576 KiB instead of 32 of 3.2 MiB, measured 1.7× par2cmdline CPU), for 15 % instead of 40 %
 * recovery data to write, upload and store. Sets above directMaxBytes are grouped or windowed: their units hold ≥ 10
 * volumes whatever the volume size, so they keep the configured size; so do policies without a
 * whole-volume floor (minWholeVolumes 0). At most `maxVolumes` volumes (very low percentages).
 */
import type { Tier } from '../naming.js';
import { MIN_VOLUME_SIZE, formatSize } from '../size.js';
import { sizeClassFor } from './planner.js';
import type { ProtectionConfig } from './types.js';

const KiB = 1024;
const MiB = KiB * KiB;

/** VolumeSizing is the policy that chooses a set's volume size (see the module comment). */
export interface VolumeSizing {
  /** Volumes per 100/p: 2 leaves the table's percentage to an archive half the raw size. */
  compressionMargin: number;
  /** No volume under this, unless the set is too small for minVolumes of them. */
  minVolumeBytes: number;
  /** At least this many volumes (a set too small for that many of minVolumeBytes: that many, smaller). */
  minVolumes: number;
  /** At most this many volumes from the choice (a low percentage would ask for hundreds). */
  maxVolumes: number;
  /** Volume sizes are multiples of this (and at least MIN_VOLUME_SIZE). */
  align: number;
}

export const defaultVolumeSizing: VolumeSizing = { compressionMargin: 2, minVolumeBytes: 1 * MiB, minVolumes: 10, maxVolumes: 50, align: 64 * KiB };

/** VolumeSizeChoice is the chosen volume size and why, for `strata plan` and the backup's log. */
export interface VolumeSizeChoice {
  volumeSize: number;
  /** The configured size: the maximum. */
  maxVolumeSize: number;
  /** Volumes the raw size makes in volumes of volumeSize. */
  volumes: number;
  reason: string;
}

/** chooseVolumeSize picks the volume size of a set expected to hold `expectedBytes` (raw) in a tier, at most `maxVolumeSize`. */
export function chooseVolumeSize(tier: Tier, expectedBytes: number, maxVolumeSize: number, config: ProtectionConfig, sizing: VolumeSizing = defaultVolumeSizing): VolumeSizeChoice {
  const count = (v: number): number => Math.max(1, Math.ceil(expectedBytes / v));
  const keep = (reason: string): VolumeSizeChoice => ({ volumeSize: maxVolumeSize, maxVolumeSize, volumes: count(maxVolumeSize), reason });
  if (config.minWholeVolumes <= 0) return keep('the configured size (no whole-volume floor in the protection policy)');
  if (expectedBytes > config.directMaxBytes) return keep(`the configured size (${formatSize(expectedBytes)} > ${formatSize(config.directMaxBytes)}: groups or windows of many volumes)`);
  const p = sizeClassFor(tier, expectedBytes, config).redundancyPercent;
  const byTable = Math.ceil((sizing.compressionMargin * config.minWholeVolumes * 100) / p - 1e-9);
  const target = Math.min(sizing.maxVolumes, Math.max(sizing.minVolumes, byTable));
  const roundUp = (v: number): number => Math.max(MIN_VOLUME_SIZE, Math.ceil(v / sizing.align) * sizing.align);
  let size = roundUp(expectedBytes / target);
  let why = byTable >= sizing.minVolumes
    ? `${target} volumes for ${formatSize(expectedBytes)}, so one lost volume costs no more than the table's ${p}% even if the archive is 1/${sizing.compressionMargin} of the raw size`
    : `${target} volumes for ${formatSize(expectedBytes)}, so one lost volume stays rebuildable even if the archive is much smaller than the raw size`;
  if (size < sizing.minVolumeBytes) {
    size = Math.max(size, Math.min(sizing.minVolumeBytes, roundUp(expectedBytes / sizing.minVolumes)));
    why = size === sizing.minVolumeBytes ? `volumes of ${formatSize(sizing.minVolumeBytes)} at least (each is one object to store)` : `a small set: ${sizing.minVolumes} volumes, so that one lost volume can be rebuilt`;
  }
  if (size >= maxVolumeSize) return keep(`the configured size (${why} would need ${formatSize(size)} volumes)`);
  return { volumeSize: size, maxVolumeSize, volumes: count(size), reason: `${why}; at most ${formatSize(maxVolumeSize)}` };
}
