/**
 * core/restore-text: the RESTORE.txt placed beside every set, telling a person how to check,
 * repair and open the set with stock par2 and 7-Zip alone, without strata.
 */
import type { Descriptor } from './descriptor.js';
import { firstVolumeName, partsOf } from './parts.js';

/** RestoreTextInput is what RESTORE.txt is written from (the descriptor minus its seal). */
export type RestoreTextInput = Pick<Descriptor, 'id' | 'source' | 'tier' | 'type' | 'created' | 'base' | 'depends' | 'volumes' | 'manifest' | 'parts'> & {
  /** The par2 commands to verify and repair, as typed inside the set folder. */
  par2Commands: string[];
};

/** restoreText renders RESTORE.txt. */
export function restoreText(s: RestoreTextInput): string {
  const parts = partsOf(s);
  const lines: string[] = [];
  lines.push(`strata backup set ${s.id}`);
  lines.push('='.repeat(18 + s.id.length));
  lines.push('');
  lines.push(`Source: ${s.source}   Tier: ${s.tier}   Type: ${s.type}   Created: ${s.created}`);
  if (s.type === 'INCR') lines.push(`This set holds only what changed since set ${s.base ?? '(none)'}.`);
  lines.push('');
  lines.push('Everything here can be checked, repaired and opened WITHOUT strata, using only:');
  lines.push('  - 7-Zip 22 or newer (command 7zz)   Debian/Ubuntu: sudo apt-get install 7zip');
  lines.push('  - par2cmdline (command par2)        Debian/Ubuntu: sudo apt-get install par2');
  lines.push('  - the password of the backup (7-Zip asks for it; the archives are AES-256 encrypted,');
  lines.push('    file names included).');
  lines.push('');
  lines.push('Files of this set:');
  for (const v of s.volumes) lines.push(`  ${v.name}  ${v.size} bytes  sha256 ${v.sha256}`);
  lines.push(`  ${s.manifest.name}  ${s.manifest.size} bytes  sha256 ${s.manifest.sha256}  (the list of every file, encrypted)`);
  lines.push(`  ${s.id}.strata.json  (plaintext description: sizes and hashes, no file names)`);
  lines.push('');
  lines.push('Step 1 - check, and repair if anything is damaged or missing. Open a terminal IN THIS FOLDER and run:');
  if (s.par2Commands.length === 0) lines.push('  (this set has no recovery files)');
  for (const c of s.par2Commands) lines.push(`  ${c}`);
  lines.push('  "All files are correct" means nothing needs repair. A "repair" line rebuilds damaged or missing');
  lines.push('  volumes in place (par2 keeps the damaged original as NAME.1; you may delete it afterwards).');
  if (s.par2Commands.filter((c) => c.startsWith('par2 repair ')).length > 2) {
    // The manifest has its own PAR2 set; more than one other repair line means groups or windows.
    lines.push('  The volumes are protected in several PAR2 sets (groups, or windows that overlap). If a repair');
    lines.push('  line says it needs more recovery blocks, run the other repair lines, then that one again;');
    lines.push('  repeat the repair lines until each says "Repair complete" or a whole round repairs nothing.');
    lines.push('  Windows share volumes: once a neighbour has rebuilt the shared ones, a window often can finish.');
  }
  lines.push('');
  lines.push(parts.length > 1 ? `Step 2 - open the ${parts.length} archives of this set, one after the other (7-Zip asks for the password each time):` : 'Step 2 - open the archive (7-Zip asks for the password):');
  if (parts.length === 0) {
    lines.push('  This set has no archive volumes: nothing changed in file contents since its base set;');
    lines.push('  only the file list below changed (deletions, permissions or times).');
  } else {
    for (const p of parts) lines.push(`  7zz x ${firstVolumeName(p)} -o../restored-${s.id} -snld`);
    if (parts.length > 1) {
      lines.push(`  Each archive holds different files of the set (${parts.map((p) => `${p.archive}: ${p.method === 'copy' ? 'files that do not compress, stored' : 'compressed'}`).join('; ')});`);
      lines.push('  all of them extract into the same folder. Volume sizes and hashes are listed above.');
    }
    lines.push('  This extracts into the folder restored-' + s.id + ' beside this one; 7-Zip finds the');
    lines.push('  other volumes (.002, .003, ...) by itself. Symbolic links are stored as links: -snld lets');
    lines.push('  7-Zip create links whose target goes up a folder (link -> ../other/file), which 7-Zip 25.01');
    lines.push('  and newer otherwise leave out ("Dangerous link path was ignored"). 7-Zip 20 and newer know');
    lines.push('  -snld. 7-Zip rewrites an absolute link target to point inside the output folder');
    lines.push('  (/etc/hosts becomes <output folder>/etc/hosts); the file list of step 3 has the original.');
    lines.push('  Each hard-linked file is stored once, under the first of its names; the file list (Step 3)');
    lines.push('  names the others ("link") and each file\'s owner, extended attributes and ACLs, which');
    lines.push('  strata restore sets and 7-Zip does not.');
  }
  lines.push('');
  lines.push('Step 3 - the file list (optional): every file of the source at this moment, with its size,');
  lines.push('  modification time, permissions, SHA-256 and the set that holds its contents:');
  lines.push(`  7zz x ${s.manifest.name} -o../manifest-${s.id}`);
  lines.push('  It is a text file with one JSON object per line. Lines {"deleted": "path"} list files that');
  lines.push('  were deleted since the base set.');
  if (s.type === 'INCR' || s.depends.some((d) => d !== s.id)) {
    const older = s.depends.filter((d) => d !== s.id);
    lines.push('');
    lines.push('To rebuild the complete state of this moment by hand: extract the sets this one depends on');
    lines.push('into ONE folder, oldest first, then this one (run Step 2 in each set\'s folder with the same');
    lines.push('-o folder, e.g. -o../restored, and let 7-Zip overwrite), then delete the files this set\'s');
    lines.push('manifest lists as deleted. Sets needed (each has its own folder and RESTORE.txt beside this one):');
    for (const d of [...older].sort()) lines.push(`  ${d}`);
    if (s.volumes.length > 0) lines.push(`  ${s.id} (this set, last)`);
  }
  lines.push('');
  lines.push('With strata installed, all of this is one command: strata restore --set ' + s.id + ' --to DIR');
  lines.push('');
  return lines.join('\n');
}
