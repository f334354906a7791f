#!/usr/bin/env node
// Entry point: runs the compiled CLI (npm run build writes dist/).
import '../dist/src/cli/bin.js';
