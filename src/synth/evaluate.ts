// Calibration, recovery and the Monte Carlo check, all through the pipeline's own stage functions.
// The Monte Carlo skips the record files: ingestArtifactsOf(core) is what ingest makes of them (tested equal in
// test/synth), so each replication runs classify → weights → spillovers → lag → estimate on the generator's aggregates.
import { calibrationTable, type CalibrationRow } from './calibration-check.js';
import { TRUE_COEFFICIENTS } from './calibration.js';
import { generateCore, type Core } from './dgp.js';
import { ingestArtifactsOf, runDownstream } from './pipeline-bridge.js';

/** The coefficients whose recovery issue 4 asks for: funding and the collaboration spillover, in models 5 and 8. */
export const RECOVERY_TARGETS = [
  { model: '5', group: 'leading', variable: 'nano_funding_log' },
  { model: '5', group: 'leading', variable: 'techspill_collab_log' },
  { model: '8', group: 'lagging', variable: 'nano_funding_log' },
  { model: '8', group: 'lagging', variable: 'techspill_collab_log' },
] as const;

export interface RecoveryRow {
  model: string;
  variable: string;
  truth: number;
  estimate: number;
  se: number;
  /** (estimate − truth) / se */
  z: number;
  within2se: boolean;
  ci95: [number, number];
  converged: boolean;
}

interface FitLike { coef: Record<string, number>; se: Record<string, number>; ci95: Record<string, [number, number]>; converged: boolean }
interface ModelsLike { models: { name: string; fit: FitLike | null; error: string | null }[] }

export function recoveryOf(models: ModelsLike): RecoveryRow[] {
  return RECOVERY_TARGETS.map(({ model, group, variable }) => {
    const m = models.models.find((x) => x.name === model);
    if (!m?.fit) throw new Error(`model ${model} was not fitted: ${m?.error ?? 'missing'}`);
    const truth = TRUE_COEFFICIENTS[group].beta[variable];
    const estimate = m.fit.coef[variable];
    const se = m.fit.se[variable];
    const z = (estimate - truth) / se;
    return { model, variable, truth, estimate, se, z, within2se: Math.abs(z) <= 2, ci95: m.fit.ci95[variable], converged: m.fit.converged };
  });
}

export interface SeedEvaluation {
  seed: number;
  calibration: CalibrationRow[];
  recovery: RecoveryRow[] | null;
  /** with `allModels`: the Table 4 models whose fit did not converge (e.g. the HHG flat-likelihood boundary) */
  notConverged: string[] | null;
}

/** Calibration (and, with `estimate`, recovery) of one seed's draw, through the pipeline's stages. */
export async function evaluateSeed(seed: number, options: { estimate?: boolean; allModels?: boolean; core?: Core } = {}): Promise<SeedEvaluation> {
  const core = options.core ?? generateCore(seed);
  const ingest = ingestArtifactsOf(core);
  const down = await runDownstream(ingest, { estimate: options.estimate, models: options.allModels ? undefined : ['5', '8'] });
  const publicationRecords = core.publications.reduce((a, p) => a + p.length, 0);
  const calibration = calibrationTable({ ...ingest, ...down } as Parameters<typeof calibrationTable>[0], publicationRecords);
  const fitted = options.estimate ? (down.models as ModelsLike).models : [];
  return {
    seed,
    calibration,
    recovery: options.estimate ? recoveryOf(down.models as ModelsLike) : null,
    notConverged: options.estimate && options.allModels ? fitted.filter((m) => !m.fit?.converged).map((m) => m.name) : null,
  };
}

export interface MonteCarloRow {
  model: string;
  variable: string;
  truth: number;
  replications: number;
  mean_estimate: number;
  mean_bias: number;
  /** bias relative to the mean standard error */
  bias_over_se: number;
  sd_estimate: number;
  mean_se: number;
  /** share of 95% intervals containing the truth */
  coverage95: number;
  /** Monte Carlo standard error of the coverage, sqrt(p(1 − p)/N) */
  coverage_mcse: number;
  /** fits that ended on the HHG flat-likelihood boundary (constant → +∞, the FE Poisson limit) or otherwise did not converge */
  not_converged: number;
  /** the same figures over the converged fits only */
  converged: { replications: number; mean_bias: number; sd_estimate: number; mean_se: number; coverage95: number };
}

export interface MonteCarloResult {
  seeds: [number, number];
  replications: number;
  failed: { seed: number; error: string }[];
  rows: MonteCarloRow[];
  /** share of replications meeting each calibration target (the default seed meets all of them) */
  calibration_pass_rate: Record<string, number>;
  wall_seconds: number;
}

/** N replications on seeds firstSeed … firstSeed + N − 1: mean bias and 95%-interval coverage of the recovery targets. */
export async function monteCarlo(n: number, options: { firstSeed?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<MonteCarloResult> {
  const start = performance.now();
  const firstSeed = options.firstSeed ?? 1;
  const draws: RecoveryRow[][] = [];
  const failed: { seed: number; error: string }[] = [];
  const passes = new Map<string, number>();
  for (let k = 0; k < n; k++) {
    const seed = firstSeed + k;
    try {
      const core = generateCore(seed);
      const ingest = ingestArtifactsOf(core);
      const down = await runDownstream(ingest, { estimate: true, models: ['5', '8'] });
      draws.push(recoveryOf(down.models as ModelsLike));
      const records = core.publications.reduce((a, p) => a + p.length, 0);
      for (const row of calibrationTable({ ...ingest, ...down } as Parameters<typeof calibrationTable>[0], records)) {
        passes.set(row.figure, (passes.get(row.figure) ?? 0) + (row.pass ? 1 : 0));
      }
    } catch (error) {
      failed.push({ seed, error: error instanceof Error ? error.message : String(error) });
    }
    options.onProgress?.(k + 1, n);
  }
  const rows = RECOVERY_TARGETS.map((target, j) => {
    const d = draws.map((row) => row[j]);
    const estimates = d.map((r) => r.estimate);
    const m = estimates.reduce((a, b) => a + b, 0) / d.length;
    const sd = Math.sqrt(estimates.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, d.length - 1));
    const meanSe = d.reduce((a, r) => a + r.se, 0) / d.length;
    const coverage = d.filter((r) => r.ci95[0] <= r.truth && r.truth <= r.ci95[1]).length / d.length;
    const truth = d[0]?.truth ?? TRUE_COEFFICIENTS[target.group].beta[target.variable];
    const ok = d.filter((r) => r.converged);
    const okMean = ok.reduce((a, r) => a + r.estimate, 0) / ok.length;
    return {
      model: target.model,
      variable: target.variable,
      truth,
      replications: d.length,
      mean_estimate: m,
      mean_bias: m - truth,
      bias_over_se: (m - truth) / meanSe,
      sd_estimate: sd,
      mean_se: meanSe,
      coverage95: coverage,
      coverage_mcse: Math.sqrt((coverage * (1 - coverage)) / d.length),
      not_converged: d.length - ok.length,
      converged: {
        replications: ok.length,
        mean_bias: okMean - truth,
        sd_estimate: Math.sqrt(ok.reduce((a, r) => a + (r.estimate - okMean) ** 2, 0) / Math.max(1, ok.length - 1)),
        mean_se: ok.reduce((a, r) => a + r.se, 0) / ok.length,
        coverage95: ok.filter((r) => r.ci95[0] <= r.truth && r.truth <= r.ci95[1]).length / ok.length,
      },
    };
  });
  const calibrationPassRate = Object.fromEntries([...passes].map(([figure, count]) => [figure, count / draws.length]));
  return { seeds: [firstSeed, firstSeed + n - 1], replications: draws.length, failed, rows, calibration_pass_rate: calibrationPassRate, wall_seconds: (performance.now() - start) / 1000 };
}
