/** core/protection/format: a protection plan rendered for people (strata plan, strata list --plan). */
import { counted } from '../words.js';
import { formatSize } from '../size.js';
import type { ProtectionPlan } from './types.js';

/** formatPlan renders a plan for people: strategy, units, redundancy and guarantees. */
export function formatPlan(plan: ProtectionPlan): string {
  const g = plan.guarantees;
  const n = plan.volumeSizes.length;
  const total = plan.volumeSizes.reduce((a, b) => a + b, 0);
  const lines: string[] = [];
  const largest = Math.max(0, ...plan.volumeSizes);
  lines.push(`set ${plan.setId}: ${counted(n, 'volume')} of ${formatSize(largest)}, ${formatSize(total)}, tier ${plan.tier}, size class ${plan.sizeClass}`);
  lines.push(`strategy: ${plan.strategy} (${plan.strategyReason})`);
  lines.push(`redundancy: ${plan.redundancyPercent}% per unit (table), block size ${formatSize(g.blockSize)}`);
  lines.push(`units (${plan.units.length}):`);
  for (const u of plan.units) {
    const first = u.volumes[0] ?? 0;
    const last = u.volumes[u.volumes.length - 1] ?? 0;
    const where = u.dir === '' ? 'beside the volumes' : `${u.dir}/`;
    const pct = ((u.recoveryBlocks / u.sourceBlocks) * 100).toFixed(1);
    lines.push(`  ${u.name}: volumes ${first + 1}-${last + 1}, ${u.sourceBlocks} blocks, ${u.recoveryBlocks} recovery blocks (${pct}%, ${formatSize(u.recoveryBytes)} in ${counted(u.recoveryFiles, 'file')}), ${where}`);
  }
  lines.push('guaranteed to survive:');
  lines.push(`  ${counted(g.wholeVolumesAnywhere, 'whole volume')} lost anywhere`);
  lines.push(`  ${g.scatteredBlocks} damaged blocks anywhere (e.g. ${g.scatteredBlocks} flipped bytes or bad sectors; ${formatSize(g.scatteredBytes)} block-aligned)`);
  lines.push(`  ${formatSize(g.contiguousBytes)} (${g.contiguousBytes} bytes) of contiguous damage, across volume boundaries too`);
  for (const note of g.notes) lines.push(`  ${note}`);
  lines.push(`recovery data: ${formatSize(g.recoveryBytes)} (${g.overheadPercent}% of ${formatSize(g.protectedBytes)})`);
  return lines.join('\n');
}
