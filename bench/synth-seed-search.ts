// Finds the default seed of the embedded dataset: the first seed ≥ 1 whose draw meets every calibration tolerance
// against the paper's published figures (computed through the pipeline's stages). Recovery is NOT part of the rule,
// so the choice cannot favour a good estimate. Usage: npx tsx bench/synth-seed-search.ts [maxSeed] [--verbose]
import { evaluateSeed } from '../src/synth/evaluate.js';

const maxSeed = Number(process.argv[2] ?? 50);
const verbose = process.argv.includes('--verbose');
for (let seed = 1; seed <= maxSeed; seed++) {
  const { calibration } = await evaluateSeed(seed);
  const misses = calibration.filter((r) => !r.pass);
  console.log(`seed ${seed}: ${misses.length === 0 ? 'meets every target' : `${misses.length} miss(es): ${misses.map((m) => `${m.figure} (${m.ours.toFixed(2)} vs ${m.paper})`).join('; ')}`}`);
  if (misses.length === 0 && !verbose) break;
}
