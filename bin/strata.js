#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm run build writes dist/).
import module from 'node:module';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

// Node >= 22.1 can keep the compiled code of strata's modules between runs (a shorter start); Node 20
// has no such cache and skips this. The cache lives in the user's own cache folder (made private),
// never in the shared temporary folder where another user could plant compiled code.
if (typeof module.enableCompileCache === 'function' && process.env.NODE_DISABLE_COMPILE_CACHE === undefined) {
  try {
    const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const dir = join(base, 'strata', 'node-compile-cache');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    module.enableCompileCache(dir);
  } catch {
    // No cache folder (read-only home, no home): start without the cache.
  }
}
await import('../dist/bundle/bin.js');
