// The data-generating process of the synthetic default dataset, at the level of what the ingest stage counts.
//
// 1. Exogenous, evolving by year: population, R&D, non-nano patents, all-field publications (synthetic), GDP (real),
//    nano funding as NSFC-like grants, and nano publications with their inter-regional and foreign co-authors.
// 2. Nano patents: y_it ~ HHG negative binomial, y ~ Poisson(γ), γ ~ Gamma(shape = λ_it, scale = 1/δ_i),
//    λ_it = exp(β0 + τ_t + x_i,t−1' β) with (β0, β) = Table 4 model 5 for leading and model 8 for lagging regions,
//    x built from year t−1 (including the other regions' drawn patents) by `regressorsOf`, the pipeline's functions.
//    δ_i is calibrated on the expected path (patents at their targets); τ_t each year on the drawn history so that
//    each group's expected total follows Table 1.
// Publication records are drawn here (they are cheap and their counts are the aggregates); patent and grant records
// are expanded from the counts by records.ts. The Monte Carlo uses this module alone.
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import {
  ALL_PUBS_GROWTH,
  BASE_YEAR,
  COLLABORATION_DISTANCE_KM,
  FOREIGN_PARTNERS,
  FUNDING,
  INTERNATIONAL_INTENSITY,
  LEADING,
  NATIONAL_INTENSITY,
  NOISE,
  NON_NANO_TITLE_SHARE,
  OUTLIER,
  PARTNER_ZIPF_EXPONENT,
  PATENT_TARGETS,
  PROFILES,
  PUBLICATIONS_1999,
  PUBLICATIONS_GROWTH,
  REGRESSORS,
  TRUE_COEFFICIENTS,
  YEARS,
  type Regressor,
} from './calibration.js';
import { cumulativeWeights, Rng } from '../stats/random.js';
import { defaultSpatialWeights, regressorsOf, type YearAggregates } from './regressors.js';
import { distanceMatrix } from '../stats/spatial-weights.js';

import type { RegionInfo } from '../data/artifacts.js';
export type { RegionInfo };

/** One publication record: indices into regions (≥ 1, may repeat a region as a second address) and into FOREIGN_PARTNERS. */
export interface PublicationDraw {
  regions: number[];
  partners: number[];
}

export interface GroupTruth {
  model: string;
  constant: number;
  beta: Record<Regressor, number>;
  /** τ_t by year, 2000–2010 (1999 is not estimated); λ_it = exp(constant + τ_t + x'β) */
  yearEffects: Record<string, number>;
  /** the same in an estimator's parameterisation with 2000 the omitted base year: _cons = constant + τ_2000, t.year = τ_t − τ_2000 */
  asEstimated: Record<string, number>;
}

export interface Core {
  seed: number;
  regions: RegionInfo[];
  years: readonly number[];
  leading: boolean[];
  /** [t][i] arrays, t indexing YEARS */
  gdp: number[][];
  population: number[][];
  rd: number[][];
  publicationsTotal: number[][];
  /** non-nano patent applications other than the query's false positives and the outlier */
  nonNanoBase: number[][];
  /** nano patents drawn from the model (the outlier's filings are extra) */
  nanoPatents: number[][];
  /** query records whose title does not match "nano" */
  falsePositives: number[][];
  /** outlier filings (non-zero only for Beijing 2001) */
  outlierFilings: number[][];
  patentsTotal: number[][];
  /** grant amounts (万元, integers) per [t][i] */
  grants: number[][][];
  funding: number[][];
  publications: PublicationDraw[][];
  aggregates: YearAggregates[];
  /** x_i,t−1 used for y_it, per [t][i], t ≥ 1 (2000 on) */
  regressors: (Record<Regressor, number[]> | null)[];
  truth: { leading: GroupTruth; lagging: GroupTruth; dispersion: Record<string, number> };
}

const SOURCES = new URL('../../data/sources/', import.meta.url);

function readCsv(name: string): Record<string, string>[] {
  return parse(readFileSync(new URL(name, SOURCES), 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
}

/** The 30 regions (real codes, capitals, coordinates) and their real GDP 1999–2010 (data/sources, see its README). */
export function loadRealData(): { regions: RegionInfo[]; gdp: number[][] } {
  const regions = readCsv('regions.csv').map((r) => ({ code: r.code, name: r.name, capital: r.capital, lat: Number(r.lat), lon: Number(r.lon) }));
  const index = new Map(regions.map((r, i) => [r.code, i]));
  const gdp = YEARS.map(() => new Array<number>(regions.length).fill(NaN));
  for (const row of readCsv('gdp_1999_2010.csv')) {
    const t = YEARS.indexOf(Number(row.year));
    const i = index.get(row.region);
    if (t >= 0 && i !== undefined) gdp[t][i] = Number(row.gdp);
  }
  if (gdp.some((row) => row.some((v) => !Number.isFinite(v)))) throw new Error('data/sources/gdp_1999_2010.csv lacks a region-year');
  return { regions, gdp };
}

/** Log-linear interpolation between a 1999 and a 2010 value. */
function loglinear(a: number, b: number, t: number): number {
  const f = t / (YEARS.length - 1);
  return Math.exp((1 - f) * Math.log(a) + f * Math.log(b));
}

/** A period target linear in the year, passing through the early (1999–2004) and late (2005–2010) period means. */
function periodLinear(early: number, late: number, year: number): number {
  return early + ((late - early) * (year - 2001.5)) / 6;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k);
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

/** Symmetric IPF: P_ij = x_i x_j g_ij with Σ_j P_ij = target_i (Sinkhorn–Knopp on a symmetric kernel, damped). */
function symmetricIpf(kernel: number[][], target: number[]): number[][] {
  const n = target.length;
  let x = target.map((c) => Math.sqrt(Math.max(c, 1e-12)));
  for (let iter = 0; iter < 500; iter++) {
    const next = x.map((xi, i) => {
      let s = 0;
      for (let j = 0; j < n; j++) if (j !== i) s += x[j] * kernel[i][j];
      return Math.sqrt(xi * (target[i] / s));
    });
    const change = Math.max(...next.map((v, i) => Math.abs(v - x[i]) / x[i]));
    x = next;
    if (change < 1e-10) break;
  }
  return range(n).map((i) => range(n).map((j) => (i === j ? 0 : x[i] * x[j] * kernel[i][j])));
}

/** Draws the exogenous part: everything except nano patents (and patents_total, which includes them). */
function drawExogenous(rng: Rng, regions: RegionInfo[], gdp: number[][], leading: boolean[]) {
  const n = regions.length;
  const T = YEARS.length;
  const profile = regions.map((r) => {
    const p = PROFILES[r.code];
    if (!p) throw new Error(`no calibration profile for region ${r.code}`);
    return p;
  });

  // Region-year statistics (synthetic magnitudes; GDP is real).
  const population = YEARS.map((y) => profile.map((p) => Math.round(loglinear(p.pop[0], p.pop[1], (y - 2000) * (YEARS.length - 1) / 10) * Math.exp(NOISE.population * rng.normal()))));
  const rd = YEARS.map((_, t) => profile.map((p, i) => Math.round(gdp[t][i] * (loglinear(p.rd[0], p.rd[1], t) / 100) * Math.exp(NOISE.rd * rng.normal()) * 100) / 100));
  const nonNanoBase = YEARS.map((_, t) => profile.map((p, i) => Math.round(p.patentsPerRd * Math.exp(NOISE.patentsPerRd * rng.normal()) * 100 * rd[t][i])));
  const publicationsTotal = YEARS.map((_, t) => profile.map((p) => Math.round(p.allPubs * 1000 * Math.exp(ALL_PUBS_GROWTH * t + NOISE.allPubs * rng.normal()))));

  // Nano funding: grants with a regional AR(1) shock around a log-linear trend.
  const grants: number[][][] = YEARS.map(() => regions.map(() => []));
  const shock = zeros(n).map(() => (FUNDING.shockSd / Math.sqrt(1 - FUNDING.shockRho ** 2)) * rng.normal());
  for (let t = 0; t < T; t++) {
    const meanGrant = FUNDING.grantMean1999 * Math.exp(FUNDING.grantGrowth * t);
    for (let i = 0; i < n; i++) {
      if (t > 0) shock[i] = FUNDING.shockRho * shock[i] + FUNDING.shockSd * rng.normal();
      const growth = FUNDING.growth - FUNDING.catchUp * (profile[i].funding - 6);
      const expected = Math.exp(profile[i].funding + FUNDING.offset + growth * (YEARS[t] - 2004) + shock[i]);
      const count = rng.poisson(expected / (meanGrant * (1 + FUNDING.keyShare * 6.5)));
      for (let g = 0; g < count; g++) {
        const key = rng.uniform() < FUNDING.keyShare;
        const amount = key ? meanGrant * (5 + 5 * rng.uniform()) : meanGrant * rng.gamma(4, 0.25);
        grants[t][i].push(Math.max(1, Math.round(amount)));
      }
    }
  }
  const funding = grants.map((row) => row.map((gs) => gs.reduce((a, b) => a + b, 0)));

  // Nano publications and their co-authorship.
  const distance = distanceMatrix(regions);
  const kernel = distance.map((row) => row.map((d) => Math.exp(-d / COLLABORATION_DISTANCE_KM)));
  const partnerCumulative = cumulativeWeights(FOREIGN_PARTNERS.map((_, k) => 1 / (k + 1) ** PARTNER_ZIPF_EXPONENT));
  const intlSpread = regions.map(() => Math.exp(INTERNATIONAL_INTENSITY.regionSpread * rng.normal()));
  for (const group of [true, false]) {
    // normalised to mean 1 within each group, so the group means stay on Table 2
    const members = range(n).filter((i) => leading[i] === group);
    const m = members.reduce((acc, i) => acc + intlSpread[i], 0) / members.length;
    for (const i of members) intlSpread[i] /= m;
  }
  const publications: PublicationDraw[][] = [];
  for (let t = 0; t < T; t++) {
    const year = YEARS[t];
    const weight = profile.map((p) => loglinear(p.nanoPubs[0], p.nanoPubs[1], t));
    const share = leading.map((lead) => {
      const g = lead ? NATIONAL_INTENSITY.leading : NATIONAL_INTENSITY.lagging;
      return periodLinear(g.early, g.late, year);
    });
    const records = PUBLICATIONS_1999 * PUBLICATIONS_GROWTH ** t;
    // Σ_i N_i (1 − s_i/2) = records: each inter-regional paper is counted by two regions.
    const scale = records / weight.reduce((acc, w, i) => acc + w * (1 - share[i] / 2), 0);
    const pubsTarget = weight.map((w) => w * scale);
    const copubTarget = symmetricIpf(kernel, pubsTarget.map((N, i) => N * share[i]));
    const soloTarget = pubsTarget.map((N, i) => N * (1 - share[i]));
    // Foreign-partner probability π_i per paper so that E[Σ_k PUB_ik / PUB_i] hits the target; a pair paper uses (π_i + π_j)/2.
    const partnersPerPaper = 1 + INTERNATIONAL_INTENSITY.extraPartnersMean;
    const intlTarget = leading.map((lead, i) => {
      const g = lead ? INTERNATIONAL_INTENSITY.leading : INTERNATIONAL_INTENSITY.lagging;
      return (periodLinear(g.early, g.late, year) / 100) * intlSpread[i];
    });
    let pi = intlTarget.map((q) => q / partnersPerPaper);
    for (let iter = 0; iter < 50; iter++) {
      pi = pi.map((_, i) => {
        let fromPairs = 0;
        let pairs = 0;
        for (let j = 0; j < n; j++) {
          fromPairs += copubTarget[i][j] * pi[j] * 0.5;
          pairs += copubTarget[i][j];
        }
        const p = ((intlTarget[i] * pubsTarget[i]) / partnersPerPaper - fromPairs) / (soloTarget[i] + pairs * 0.5);
        return Math.min(0.9, Math.max(0, p));
      });
    }
    const drawPartners = (p: number): number[] => {
      if (rng.uniform() >= p) return [];
      const count = Math.min(FOREIGN_PARTNERS.length, 1 + rng.poisson(INTERNATIONAL_INTENSITY.extraPartnersMean));
      const chosen: number[] = [];
      while (chosen.length < count) {
        const k = rng.categorical(partnerCumulative);
        if (!chosen.includes(k)) chosen.push(k);
      }
      return chosen.sort((a, b) => a - b);
    };
    const year_: PublicationDraw[] = [];
    for (let i = 0; i < n; i++) {
      const solo = rng.poisson(soloTarget[i]);
      for (let k = 0; k < solo; k++) {
        // 5% of single-region papers list two addresses in the same region (still not inter-regional)
        const regionsOf = rng.uniform() < 0.05 ? [i, i] : [i];
        year_.push({ regions: regionsOf, partners: drawPartners(pi[i]) });
      }
    }
    const copubCumulative = cumulativeWeights(soloTarget);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const count = rng.poisson(copubTarget[i][j]);
        for (let k = 0; k < count; k++) {
          const regionsOf = [i, j];
          // 3% of inter-regional papers have a third region (drawn by size)
          if (rng.uniform() < 0.03) {
            const third = rng.categorical(copubCumulative);
            if (third !== i && third !== j) regionsOf.push(third);
          }
          year_.push({ regions: regionsOf, partners: drawPartners((pi[i] + pi[j]) / 2) });
        }
      }
    }
    // WoS exports are not ordered by region: shuffle (Fisher–Yates).
    for (let k = year_.length - 1; k > 0; k--) {
      const m = rng.int(k + 1);
      [year_[k], year_[m]] = [year_[m], year_[k]];
    }
    publications.push(year_);
  }
  return { population, rd, nonNanoBase, publicationsTotal, grants, funding, publications, profile };
}

/** The counts the ingest stage makes of one year's publications. */
export function countPublications(pubs: readonly PublicationDraw[], n: number): { pubs: number[]; copubs: number[][]; foreign: number[]; interRegional: number[] } {
  const count = zeros(n);
  const foreign = zeros(n);
  const interRegional = zeros(n);
  const copubs = range(n).map(() => zeros(n));
  for (const p of pubs) {
    const distinct = [...new Set(p.regions)];
    for (const i of distinct) {
      count[i] += 1;
      foreign[i] += p.partners.length;
      if (distinct.length > 1) interRegional[i] += 1;
    }
    for (const i of distinct) for (const j of distinct) if (i !== j) copubs[i][j] += 1;
  }
  return { pubs: count, copubs, foreign, interRegional };
}

/** Generates the whole aggregate dataset for one seed (deterministic). */
export function generateCore(seed: number): Core {
  const { regions, gdp } = loadRealData();
  const n = regions.length;
  const T = YEARS.length;
  const leadingSet = new Set<string>(LEADING);
  const leading = regions.map((r) => leadingSet.has(r.code));
  const root = Rng.fromSeed(seed);
  const exo = drawExogenous(root.fork('exogenous'), regions, gdp, leading);
  const rng = root.fork('patents');
  const spatial = defaultSpatialWeights(regions);
  const outlierIndex = regions.findIndex((r) => r.code === OUTLIER.region);
  const outlierYear = YEARS.indexOf(OUTLIER.year);

  const counted = exo.publications.map((pubs) => countPublications(pubs, n));
  const groupOf = (i: number): 'leading' | 'lagging' => (leading[i] ? 'leading' : 'lagging');

  // Expected nano patents per region-year: group target × within-group share.
  const target = YEARS.map((year, t) => {
    const weights = exo.profile.map((p) => loglinear(p.nanoPatents[0], p.nanoPatents[1], t));
    const groupSum = { leading: 0, lagging: 0 };
    weights.forEach((w, i) => (groupSum[groupOf(i)] += w));
    return weights.map((w, i) => (PATENT_TARGETS[groupOf(i)][year] * w) / groupSum[groupOf(i)]);
  });

  const aggregatesOf = (t: number, patents: number[], falsePositives: number[]): YearAggregates => ({
    pubs: counted[t].pubs,
    copubs: counted[t].copubs,
    foreign: counted[t].foreign,
    funding: exo.funding[t],
    patents,
    gdp: gdp[t],
    population: exo.population[t],
    rd: exo.rd[t],
    // ingest: nonnano = patents_total − nano kept − outlier's nano filings = the base plus the non-nano titles
    nonnano: exo.nonNanoBase[t].map((b, i) => b + falsePositives[i]),
  });
  const linearIndex = (x: Record<Regressor, number[]>, i: number): number => {
    const coef = TRUE_COEFFICIENTS[groupOf(i)];
    let eta = coef.constant;
    for (const r of REGRESSORS) eta += coef.beta[r] * x[r][i];
    return eta;
  };
  const outlierRow = (t: number): number[] => range(n).map((i) => (t === outlierYear && i === outlierIndex ? OUTLIER.filings : 0));

  // Calibration on the expected path: log δ_i − τ_t = β0 + x'β − log E y_it, fitted two-way (τ_2000 = 0),
  // then τ_t re-solved per year so that each group's expected total equals its target exactly.
  const expectedX = range(T).map((t) =>
    t === 0 ? null : regressorsOf(aggregatesOf(t - 1, target[t - 1], target[t - 1].map((v) => (v * NON_NANO_TITLE_SHARE) / (1 - NON_NANO_TITLE_SHARE))), spatial),
  );
  const r = range(T).map((t) => (t === 0 ? null : range(n).map((i) => linearIndex(expectedX[t]!, i) - Math.log(target[t][i]))));
  const logDelta = zeros(n);
  const tau = { leading: zeros(T), lagging: zeros(T) };
  for (let iter = 0; iter < 100; iter++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let t = 1; t < T; t++) s += r[t]![i] + tau[groupOf(i)][t];
      logDelta[i] = s / (T - 1);
    }
    for (const g of ['leading', 'lagging'] as const) {
      for (let t = 1; t < T; t++) {
        let s = 0;
        let c = 0;
        for (let i = 0; i < n; i++) if (groupOf(i) === g) { s += logDelta[i] - r[t]![i]; c++; }
        tau[g][t] = s / c;
      }
    }
  }
  for (const g of ['leading', 'lagging'] as const) {
    for (let t = 1; t < T; t++) {
      let expected = 0;
      for (let i = 0; i < n; i++) if (groupOf(i) === g) expected += Math.exp(r[t]![i] + Math.log(target[t][i]) - logDelta[i]);
      tau[g][t] = Math.log(PATENT_TARGETS[g][YEARS[t]]) - Math.log(expected);
    }
    const base = tau[g][YEARS.indexOf(BASE_YEAR)];
    for (let t = 1; t < T; t++) tau[g][t] -= base;
    for (let i = 0; i < n; i++) if (groupOf(i) === g) logDelta[i] -= base;
  }
  const delta = logDelta.map(Math.exp);

  // The draw: 1999 from its expected value, then year by year from the model with x from the drawn year before.
  const nanoPatents: number[][] = [];
  const falsePositives: number[][] = [];
  const outlierFilings: number[][] = [];
  const aggregates: YearAggregates[] = [];
  const regressors: (Record<Regressor, number[]> | null)[] = [];
  for (let t = 0; t < T; t++) {
    let x: Record<Regressor, number[]> | null = null;
    let lambda: number[];
    if (t === 0) {
      lambda = range(n).map((i) => target[0][i] * delta[i]);
    } else {
      x = regressorsOf(aggregates[t - 1], spatial);
      // τ_t is set on the drawn history (it is known at t−1, like every regressor): each group's expected total given
      // x_t−1 equals its Table 1 path, so the year effects absorb the drift of the realised regressors
      for (const g of ['leading', 'lagging'] as const) {
        let expected = 0;
        for (let i = 0; i < n; i++) if (groupOf(i) === g) expected += Math.exp(linearIndex(x, i)) / delta[i];
        tau[g][t] = Math.log(PATENT_TARGETS[g][YEARS[t]]) - Math.log(expected);
      }
      lambda = range(n).map((i) => Math.exp(linearIndex(x!, i) + tau[groupOf(i)][t]));
    }
    regressors.push(x);
    const y = lambda.map((l, i) => rng.negBinomialHHG(l, delta[i]));
    const fp = y.map((v) => rng.poisson((v * NON_NANO_TITLE_SHARE) / (1 - NON_NANO_TITLE_SHARE)));
    nanoPatents.push(y);
    falsePositives.push(fp);
    outlierFilings.push(outlierRow(t));
    aggregates.push(aggregatesOf(t, y, fp));
  }
  const patentsTotal = range(T).map((t) => range(n).map((i) => exo.nonNanoBase[t][i] + nanoPatents[t][i] + falsePositives[t][i] + outlierFilings[t][i]));

  const groupTruth = (g: 'leading' | 'lagging'): GroupTruth => ({
    model: TRUE_COEFFICIENTS[g].model,
    constant: TRUE_COEFFICIENTS[g].constant,
    beta: { ...TRUE_COEFFICIENTS[g].beta },
    yearEffects: Object.fromEntries(range(T).filter((t) => t > 0).map((t) => [String(YEARS[t]), tau[g][t]])),
    asEstimated: Object.fromEntries([
      ...range(T).filter((t) => t > 1).map((t) => [`${YEARS[t]}.year`, tau[g][t] - tau[g][1]]),
      ['_cons', TRUE_COEFFICIENTS[g].constant + tau[g][1]],
    ]),
  });
  return {
    seed,
    regions,
    years: YEARS,
    leading,
    gdp,
    population: exo.population,
    rd: exo.rd,
    publicationsTotal: exo.publicationsTotal,
    nonNanoBase: exo.nonNanoBase,
    nanoPatents,
    falsePositives,
    outlierFilings,
    patentsTotal,
    grants: exo.grants,
    funding: exo.funding,
    publications: exo.publications,
    aggregates,
    regressors,
    truth: { leading: groupTruth('leading'), lagging: groupTruth('lagging'), dispersion: Object.fromEntries(regions.map((reg, i) => [reg.code, delta[i]])) },
  };
}
