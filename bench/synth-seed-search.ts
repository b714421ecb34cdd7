// Finds the default seed of the embedded dataset: the first seed ≥ 1 whose draw meets every calibration tolerance
// against the paper's published figures (computed through the pipeline's stages) and whose nine Table 4 fits all
// converge (no HHG flat-likelihood boundary, so the default report shows nine real fits). How close the estimates are
// to the truth is NOT part of the rule; the Monte Carlo (bench/monte-carlo.ts) reports that over seeds 1–N. Usage: npx tsx bench/synth-seed-search.ts [maxSeed] [--verbose]
import { evaluateSeed } from '../src/synth/evaluate.js';

const maxSeed = Number(process.argv[2] ?? 50);
const verbose = process.argv.includes('--verbose');
for (let seed = 1; seed <= maxSeed; seed++) {
  const { calibration, notConverged } = await evaluateSeed(seed, { estimate: true, allModels: true });
  const misses = calibration.filter((r) => !r.pass);
  for (const name of notConverged ?? []) misses.push({ figure: `model ${name} fit converged`, ours: 0, paper: 1, tolerance: 'converged', pass: false });
  console.log(`seed ${seed}: ${misses.length === 0 ? 'meets every target' : `${misses.length} miss(es): ${misses.map((m) => `${m.figure} (${m.ours.toFixed(2)} vs ${m.paper})`).join('; ')}`}`);
  if (misses.length === 0 && !verbose) break;
}
