/**
 * pipeline/restore/fetch: bring a holding set's volumes into the work folder, checked and repaired
 * with its PAR2 data where damaged. Volumes beyond repair are reported and given their recorded
 * length in the work copy, so that 7-Zip still reads every other volume.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Descriptor } from '../../core/descriptor.js';
import { setObjectKey } from '../../core/keys.js';
import { counted } from '../../core/words.js';
import { takeFromOthers } from '../fallback.js';
import { materializeSet, type MaterializedSet } from '../setfiles.js';
import { thawObjects } from './thaw.js';
import type { RestoredSource, RestoreRequest } from './types.js';

/**
 * fetchSet materializes (and repairs) one holding set for extraction, noting repaired and lost
 * volumes in `result`. Recovery files PAR2 needs that are in archive storage are requested first
 * (restore/thaw): RESTORE_PENDING until they are readable.
 */
export async function fetchSet(req: Pick<RestoreRequest, 'repo' | 'tools' | 'out' | 'meter' | 'others' | 'retrievalTier'>, hd: Descriptor, work: string, result: Pick<RestoredSource, 'repairedVolumes' | 'lostVolumes'>): Promise<MaterializedSet> {
  const thawRecovery = async (recovery: readonly { name: string; size: number }[], bad: readonly string[]): Promise<void> => {
    const reason = `set ${hd.id}: ${counted(bad.length, 'volume')} damaged or missing (${bad.join(', ')}); PAR2 repair needs the ${counted(recovery.length, 'recovery file')} of the units covering ${bad.length === 1 ? 'it' : 'them'}`;
    await thawObjects(req.repo.backend, recovery.map((r) => ({ key: setObjectKey(hd.id, r.name), size: r.size })), { tier: req.retrievalTier, out: req.out, command: 'the same strata restore', reason });
  };
  const mat = await materializeSet(req.repo, hd, work, req.tools.parity, (line) => req.out.info(line), req.meter, thawRecovery);
  result.repairedVolumes.push(...mat.repaired.map((r) => setObjectKey(hd.id, r)));
  // Beyond repair here: another destination of the job holding the same set (pipeline/fallback) has them.
  if (mat.lostVolumes.length > 0 && mat.copy && req.others !== undefined) {
    const taken = await takeFromOthers(req.others, hd, hd.volumes.filter((v) => mat.lostVolumes.includes(v.name)), mat.dir);
    for (const [name, from] of taken) req.out.warn(`set ${hd.id}: ${name} is missing or damaged beyond PAR2 repair here; took it from destination ${from}`);
    mat.lostVolumes = mat.lostVolumes.filter((v) => !taken.has(v));
  }
  if (mat.lostVolumes.length > 0) {
    result.lostVolumes.push(...mat.lostVolumes.map((v) => setObjectKey(hd.id, v)));
    req.out.warn(`set ${hd.id}: beyond repair: ${mat.lostVolumes.join(', ')}; restoring every file that is still intact`);
    // 7-Zip stops at a missing or short volume and then extracts nothing at all; in the work copy a
    // volume of the right length (zeros where data is missing) keeps every other volume's offsets
    // right, so the files outside the lost volumes come back. Their hashes are checked before placing.
    if (mat.copy) await padLostVolumes(mat.dir, hd, mat.lostVolumes);
  }
  return mat;
}

/** padLostVolumes gives each lost volume of a work copy its recorded length: created when missing, cut or zero-extended otherwise. */
async function padLostVolumes(dir: string, d: Descriptor, lost: readonly string[]): Promise<void> {
  for (const name of lost) {
    const v = d.volumes.find((o) => o.name === name);
    if (v === undefined) continue;
    const fh = await fsp.open(path.join(dir, name), 'a');
    try {
      if ((await fh.stat()).size !== v.size) await fh.truncate(v.size);
    } finally {
      await fh.close();
    }
  }
}
