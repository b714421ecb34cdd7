// estimate: the nine models of Table 4 as declared in pipeline.yaml (estimate.models: name, sample, regressors),
// each a fixed-effects negative binomial (hhg-fenb, Hausman-Hall-Griliches; Stata `xtnbreg, fe`) with a constant
// and a full set of year dummies (section 4.4), through fitCountModel (src/stats/count, CONTRACTS §4).
import type { StageFunction } from '../src/engine/stage-api.js';
import { SpillwayError, type ErrorKind } from '../src/errors.js';
import { DESIGN_VARIABLES, type CompanionFit, type DesignArtifact, type DesignVariable, type ModelSpec, type ModelsArtifact, type Sample } from '../src/data/artifacts.js';
import { oneOf } from '../src/data/params.js';
import { expandFactor, fitCountModel, type CountModel, type PackedRows } from '../src/stats/count/index.js';

function modelSpecs(value: unknown): ModelSpec[] {
  const bad = (message: string, pointer: string) =>
    new SpillwayError('invalidPipeline', `param estimate.models${pointer}: ${message}`, {
      expected: `a list of { name, sample: all|leading|lagging, regressors: [${DESIGN_VARIABLES.join(', ')}] }`,
      hint: 'edit params.estimate.models in pipeline.yaml',
    });
  if (!Array.isArray(value) || value.length === 0) throw bad('must be a non-empty list', '');
  const names = new Set<string>();
  return value.map((m: unknown, k) => {
    const spec = m as Partial<ModelSpec>;
    if (typeof spec !== 'object' || spec === null) throw bad('must be an object', `[${k}]`);
    if (typeof spec.name !== 'string' || spec.name === '' || names.has(spec.name)) throw bad('needs a unique non-empty name', `[${k}].name`);
    names.add(spec.name);
    if (!['all', 'leading', 'lagging'].includes(spec.sample as string)) throw bad(`sample ${JSON.stringify(spec.sample)} is not all, leading or lagging`, `[${k}].sample`);
    if (!Array.isArray(spec.regressors) || spec.regressors.length === 0) throw bad('needs a non-empty list of regressors', `[${k}].regressors`);
    for (const r of spec.regressors) {
      if (!(DESIGN_VARIABLES as readonly string[]).includes(r)) throw bad(`unknown regressor ${JSON.stringify(r)}`, `[${k}].regressors`);
    }
    return { name: spec.name, sample: spec.sample as Sample, regressors: [...spec.regressors] as DesignVariable[] };
  });
}

/**
 * Regressors packed row-major (no array per row, no n-long column per dummy): the regressors' values, then one
 * indicator per non-base level of each factor, named as expandFactor names them (base = smallest level, as Stata's i.).
 */
function packedDesign(
  rows: DesignArtifact['rows'],
  regressors: DesignVariable[],
  factors: { name: string; values: (string | number)[] }[],
): { X: PackedRows; names: string[] } {
  const names: string[] = [...regressors];
  const columnOf: Map<string, number>[] = factors.map(({ name, values }) => {
    const distinct = [...new Set(values.map(String))];
    const factor = expandFactor(distinct, { name });
    const at = new Map<string, number>();
    factor.columns.forEach((column, j) => at.set(distinct[column.indexOf(1)], names.length + j));
    names.push(...factor.names);
    return at;
  });
  const width = names.length;
  const values = new Float64Array(rows.length * width);
  rows.forEach((row, i) => {
    const base = i * width;
    regressors.forEach((v, j) => (values[base + j] = row[v]));
    factors.forEach((factor, f) => {
      const at = columnOf[f].get(String(factor.values[i]));
      if (at !== undefined) values[base + at] = 1;
    });
  });
  return { X: { values, width }, names };
}

/** The finite coefficients of a fit (jsonSafe turned the others into null), without _cons. */
function convergedCoef(coef: Record<string, number | null>): Record<string, number> {
  return Object.fromEntries(Object.entries(coef).filter((e): e is [string, number] => e[0] !== '_cons' && typeof e[1] === 'number' && Number.isFinite(e[1])));
}

/**
 * Start values for Poisson with region dummies, a constant and the same slopes: given slopes b, the maximum over a
 * region's effect is a_g = ln(Y_g / Σ_t exp(x_t'b)); with the first region (in sorted order, the factor's base) as base,
 * _cons = a_base and g.region = a_g - a_base. A region with Y_g = 0 (no finite maximum) starts at ln(0.5 / Σ_t exp(x_t'b)).
 */
function regionEffects(rows: DesignArtifact['rows'], regressors: DesignVariable[], slopes: Record<string, number>): Record<string, number> {
  const total = new Map<string, { y: number; mu: number }>();
  for (const row of rows) {
    let eta = slopes[`${row.year}.year`] ?? 0;
    for (const v of regressors) eta += (slopes[v] ?? 0) * row[v];
    const t = total.get(row.region) ?? { y: 0, mu: 0 };
    t.y += row.nano_patents;
    t.mu += Math.exp(eta);
    total.set(row.region, t);
  }
  const levels = expandFactor([...total.keys()], { name: 'region' });
  const effect = (region: string) => {
    const t = total.get(region)!;
    return Math.log(Math.max(t.y, 0.5) / t.mu);
  };
  const base = levels.levels[0];
  const start: Record<string, number> = { ...slopes, _cons: effect(base) };
  for (const region of levels.levels) if (region !== base) start[`${region}.region`] = effect(region) - start._cons;
  return start;
}

/** JSON has no NaN or ±Infinity: such values (e.g. the p-value of an unidentified column) become null. */
function jsonSafe(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

const estimate: StageFunction = (ctx) => {
  const estimator = oneOf(ctx, 'estimate.estimator', ['hhg-fenb', 'fe-poisson', 'nb2'] as const satisfies readonly CountModel[]);
  const yearDummies = ctx.param<unknown>('estimate.year_dummies');
  if (typeof yearDummies !== 'boolean') {
    throw new SpillwayError('invalidPipeline', `param estimate.year_dummies is ${JSON.stringify(yearDummies)}`, { expected: 'true or false' });
  }
  const specs = modelSpecs(ctx.param('estimate.models'));
  const design = ctx.inputs.design as DesignArtifact;

  // each model that could not be fitted, or whose fit did not converge, with the kind of the reason
  const failures: { name: string; kind: ErrorKind; message: string }[] = [];
  const sampleRows = (spec: ModelSpec) => design.rows.filter((r) => spec.sample === 'all' || r.group === spec.sample);
  const models: ModelsArtifact['models'] = specs.map((spec) => {
    const rows = sampleRows(spec);
    const years = rows.map((r) => r.year);
    const base = {
      ...spec,
      n: rows.length,
      regions: new Set(rows.map((r) => r.region)).size,
      years: [Math.min(...years), Math.max(...years)] as [number, number],
    };
    if (rows.length === 0) {
      failures.push({ name: spec.name, kind: 'invalidInput', message: `no observations in sample ${spec.sample}` });
      return { ...base, years: design.estimation_years, fit: null, error: `no observations in sample ${spec.sample}` };
    }
    const { X, names } = packedDesign(rows, spec.regressors, yearDummies ? [{ name: 'year', values: years }] : []);
    try {
      const fit = fitCountModel(
        { y: rows.map((r) => r.nano_patents), X, names, groups: rows.map((r) => r.region) },
        { model: estimator, addConstant: true },
      );
      const flag = fit.converged ? (fit.identification?.near_flat ? ' — near-flat likelihood' : '') : ' — NOT converged';
      ctx.log(`model ${spec.name} (${spec.sample}, n = ${fit.n}): log L = ${fit.loglik.toFixed(3)}${flag}`);
      if (!fit.converged) failures.push({ name: spec.name, kind: 'notConverged', message: `did not converge${fit.warnings.length ? `: ${fit.warnings[0]}` : ''}` });
      return { ...base, fit: jsonSafe(fit) as ModelsArtifact['models'][number]['fit'], error: null };
    } catch (error) {
      // one model that cannot be fitted is reported, not fatal: the other eight still stand
      const message = error instanceof SpillwayError ? error.format() : (error as Error).message;
      ctx.log(`model ${spec.name}: ${message}`);
      failures.push({ name: spec.name, kind: error instanceof SpillwayError ? error.kind : 'stageFailed', message });
      return { ...base, fit: null, error: message };
    }
  });
  if (failures.length === specs.length) {
    // not one model gave an estimate: an artifact of empty or unconverged fits would pass for a result, so the stage
    // fails (its exit code says why when every model failed for the same kind of reason: 4 bad data, 7 no convergence).
    // Some models failing is reported in the artifact (fit null with error, or converged false with warnings).
    const kinds = new Set(failures.map((f) => f.kind));
    const [only] = kinds;
    const short = (m: string) => { const line = m.split('\n')[0]; return line.length > 160 ? `${line.slice(0, 159)}…` : line; };
    const listed = failures.map((f) => `model ${f.name}: ${short(f.message)}`).join('\n  ');
    throw new SpillwayError(kinds.size === 1 ? only : 'stageFailed', `none of the ${specs.length} models gave a converged fit:\n  ${listed}`, {
      expected: 'at least one model with observations that vary within regions and non-zero outcomes',
      hint: 'look at ingest_report (rows dropped, files with no usable row) and the estimate log; the design artifact of stage lag holds the data the models saw',
      context: { failures },
    });
  }

  // The companion of Table 4 (Allison & Waterman 2002: HHG is not a true fixed-effects model): the same models under
  // the conditional FE Poisson and under NB2 with region dummies (unconditional FE negative binomial). Same rows and
  // regressors; year dummies as above; region dummies through the factor expansion (base = first region code).
  // The covariance matrices are left out (coef, se, z, p, ci95 stay) to keep the artifact small.
  // Warm starts (both likelihoods are concave: the start changes the number of iterations, not the maximum): the FE
  // Poisson fit starts at the model's converged Table 4 slopes (HHG's are close to FE Poisson's); the Poisson start fit
  // of NB2 with region dummies starts at its exact maximum, known in closed form from the FE Poisson slopes (Poisson
  // with group dummies has the conditional FE Poisson slopes, and given the slopes a region's effect is
  // ln(Y_g / Σ_t exp(x_t'b)), Hausman, Hall & Griliches 1984 §3; Cameron & Trivedi 2013 §9.3).
  const companionFit = (spec: ModelSpec, model: 'fe-poisson' | 'nb2', start?: Record<string, number>): CompanionFit => {
    const rows = sampleRows(spec);
    if (rows.length === 0) return { fit: null, error: `no observations in sample ${spec.sample}` };
    const factors = [
      ...(yearDummies ? [{ name: 'year', values: rows.map((r) => r.year) }] : []),
      ...(model === 'nb2' ? [{ name: 'region', values: rows.map((r) => r.region) }] : []),
    ];
    const { X, names } = packedDesign(rows, spec.regressors, factors);
    try {
      const fit = fitCountModel(
        { y: rows.map((r) => r.nano_patents), X, names, groups: rows.map((r) => r.region) },
        { model, addConstant: model === 'nb2', start },
      );
      const { vcov: _vcov, ...rest } = fit;
      return { fit: jsonSafe(rest) as CompanionFit['fit'], error: null };
    } catch (error) {
      return { fit: null, error: error instanceof SpillwayError ? error.format() : (error as Error).message };
    }
  };
  const companions: NonNullable<ModelsArtifact['companions']> = {
    estimators: ['fe-poisson', 'nb2-region-dummies'],
    models: specs.map((spec, k) => {
      const main = models[k].fit;
      const fePoisson = companionFit(spec, 'fe-poisson', main?.converged ? convergedCoef(main.coef) : undefined);
      const poissonFit = fePoisson.fit?.converged ? convergedCoef(fePoisson.fit.coef) : undefined;
      const nb2 = companionFit(spec, 'nb2', poissonFit && regionEffects(sampleRows(spec), spec.regressors, poissonFit));
      return { name: spec.name, fe_poisson: fePoisson, nb2_region_dummies: nb2 };
    }),
  };
  const result: ModelsArtifact = { estimator, year_dummies: yearDummies, add_constant: true, models, companions };
  return { models: result };
};

export default estimate;
