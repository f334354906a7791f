/** cli/bin: the process entry point (bin/strata.js loads the compiled copy of this). */
import { main } from './main.js';

void main(process.argv.slice(2));
