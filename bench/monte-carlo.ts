// Monte Carlo check of the synthetic dataset's truth: N seeds, each generated at the aggregate level (the same code
// path as the record files, tested equal) and run through classify → weights → spillovers → lag → estimate; prints
// mean bias and 95%-interval coverage of the funding and collaboration-spillover coefficients of models 5 and 8.
// Usage: npx tsx bench/monte-carlo.ts [N=20] [--json]   (same as `spillway synth --monte-carlo N`)
import { main } from '../src/cli/commands/synth.js';

const n = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : '20';
process.exitCode = await main(['--monte-carlo', n, ...process.argv.slice(2).filter((a) => a === '--json')]);
