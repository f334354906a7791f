/**
 * core/protection/volume-size: the volume size chosen from a set's expected (raw) size. A table of
 * golden choices, then properties over tiers × sizes × compression: near the table's percentage
 * for incompressible data, one whole lost volume rebuildable while the archive has two volumes
 * (down to a quarter of the raw size),
 * the configured size a maximum.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseVolumeSize, defaultProtectionConfig, defaultVolumeSizing, planProtection, sizeClassFor, type ProtectionConfig, type Tier } from '../../src/core/protection/index.js';
import { splitIntoVolumes } from '../../src/commands/plan.js';

const KiB = 1024;
const MiB = KiB * KiB;
const GiB = MiB * KiB;
const MAX: Record<Tier, number> = { daily: 50 * MiB, weekly: 100 * MiB, monthly: 100 * MiB, yearly: 100 * MiB };

/** planAt plans an archive of `archiveBytes` cut into volumes of the size chosen for `rawBytes`. */
function planAt(tier: Tier, rawBytes: number, archiveBytes: number, config: ProtectionConfig = defaultProtectionConfig): ReturnType<typeof planProtection> {
  const { volumeSize } = chooseVolumeSize(tier, rawBytes, MAX[tier], config);
  return planProtection({ setId: 'S', tier, volumeSizes: splitIntoVolumes(archiveBytes, volumeSize) }, config);
}

describe('chooseVolumeSize', () => {
  it('golden table: volume size, volume count and recovery percentage of incompressible sets (the old 100 MiB volumes for comparison)', () => {
    // [tier, raw size, chosen volume size, volumes, overhead %, overhead % with the configured size]
    const rows: [Tier, number, number, number, number, number][] = [
      ['weekly', 250 * MiB, 18_743_296, 14, 15.19, 40],
      ['weekly', 30 * MiB, 2_293_760, 14, 15.47, 15.63],
      ['weekly', 500 * MiB, 37_486_592, 14, 15.19, 20],
      ['daily', 100 * MiB, 5 * MiB, 20, 10, 50],
      ['daily', 5 * MiB, 512 * KiB, 10, 10, 12.5],
      ['monthly', 250 * MiB, 25 * MiB, 10, 25, 40],
      ['yearly', 100 * MiB, 10 * MiB, 10, 30, 31.25],
      ['weekly', 12 * MiB, 1 * MiB, 12, 15.1, 15.63],
      ['weekly', 2 * GiB, 100 * MiB, 21, 12.05, 12.05],
    ];
    for (const [tier, raw, size, volumes, pct, old] of rows) {
      const c = chooseVolumeSize(tier, raw, MAX[tier], defaultProtectionConfig);
      const what = `${tier} ${raw}`;
      assert.equal(c.volumeSize, size, `${what}: volume size (${c.reason})`);
      assert.equal(c.volumes, volumes, `${what}: volumes`);
      assert.equal(planAt(tier, raw, raw).guarantees.overheadPercent, pct, `${what}: recovery %`);
      const was = planProtection({ setId: 'S', tier, volumeSizes: splitIntoVolumes(raw, MAX[tier]) });
      assert.equal(was.guarantees.overheadPercent, old, `${what}: recovery % in the configured volume size`);
    }
  });

  it('incompressible sets from 640 KiB to 1 GiB survive one lost volume; from 2 MiB on with the table percentage plus at most 3 points', () => {
    for (const tier of ['daily', 'weekly', 'monthly', 'yearly'] as const) {
      for (let raw = 640 * KiB; raw <= GiB; raw = Math.round(raw * 1.37)) {
        const plan = planAt(tier, raw, raw);
        const p = sizeClassFor(tier, raw).redundancyPercent;
        const what = `${tier} ${raw} B in ${plan.volumeSizes.length} volumes`;
        assert.ok(plan.guarantees.wholeVolumesAnywhere >= 1, `${what}: one whole volume`);
        if (raw >= 2 * MiB) assert.ok(plan.guarantees.overheadPercent <= p + 3, `${what}: ${plan.guarantees.overheadPercent}% for a table of ${p}%`);
        else assert.ok(plan.guarantees.overheadPercent <= Math.max(25, p + 3), `${what}: 64 KiB volumes at least: ${plan.guarantees.overheadPercent}%`);
        assert.ok(plan.volumeSizes.length <= defaultVolumeSizing.maxVolumes, what);
      }
    }
  });

  it('an archive half the raw size keeps the table percentage (weekly, daily); one a quarter of it still survives one lost volume', () => {
    for (const tier of ['daily', 'weekly', 'monthly', 'yearly'] as const) {
      for (let raw = 16 * MiB; raw <= GiB; raw = Math.round(raw * 1.5)) {
        for (const ratio of [0.5, 0.35, 0.25]) {
          const plan = planAt(tier, raw, Math.round(raw * ratio));
          const what = `${tier} ${raw} B compressed to ${ratio}: ${plan.volumeSizes.length} volumes`;
          assert.ok(plan.volumeSizes.length >= 2, what);
          assert.ok(plan.guarantees.wholeVolumesAnywhere >= 1, `${what}: one whole volume (${plan.guarantees.overheadPercent}%)`);
          if (ratio === 0.5 && tier !== 'monthly' && tier !== 'yearly') {
            assert.ok(plan.guarantees.overheadPercent <= plan.redundancyPercent + 3, `${what}: ${plan.guarantees.overheadPercent}%`);
          }
        }
      }
    }
  });

  it('the configured size is the maximum; large sets, tiny volumes and policies without a whole-volume floor keep it', () => {
    for (const raw of [1, 100 * KiB, 5 * MiB, 250 * MiB, 900 * MiB]) {
      for (const max of [64 * KiB, 256 * KiB, 2 * MiB, 100 * MiB]) {
        const c = chooseVolumeSize('weekly', raw, max, defaultProtectionConfig);
        assert.ok(c.volumeSize <= max && c.volumeSize >= Math.min(max, 64 * KiB), `${raw} at most ${max}: ${c.volumeSize}`);
        assert.equal(c.volumeSize % (64 * KiB) === 0 || c.volumeSize === max, true, `${c.volumeSize} is whole 64 KiB or the maximum`);
      }
    }
    assert.equal(chooseVolumeSize('weekly', 2 * GiB, 100 * MiB, defaultProtectionConfig).volumeSize, 100 * MiB);
    assert.match(chooseVolumeSize('weekly', 2 * GiB, 100 * MiB, defaultProtectionConfig).reason, /configured size.*groups or windows/);
    const noFloor: ProtectionConfig = { ...defaultProtectionConfig, minWholeVolumes: 0 };
    assert.equal(chooseVolumeSize('weekly', 250 * MiB, 100 * MiB, noFloor).volumeSize, 100 * MiB);
  });

  it('volumes are at least 1 MiB unless the set is too small for 10 of them, and never under 64 KiB', () => {
    assert.equal(chooseVolumeSize('daily', 15 * MiB, 50 * MiB, defaultProtectionConfig).volumeSize, 1 * MiB);
    assert.equal(chooseVolumeSize('daily', 3 * MiB, 50 * MiB, defaultProtectionConfig).volumeSize, 320 * KiB);
    assert.equal(chooseVolumeSize('daily', 100 * KiB, 50 * MiB, defaultProtectionConfig).volumeSize, 64 * KiB);
    assert.equal(chooseVolumeSize('daily', 0, 50 * MiB, defaultProtectionConfig).volumeSize, 64 * KiB);
  });
});
