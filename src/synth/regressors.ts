// The regressors of one year, built from that year's aggregates with the replication's own functions
// (src/stats/*: the same functions the pipeline's weights/spillovers/lag stages call), so the generator's truth and the
// pipeline's estimation design share one definition. test/synth checks the result against the pipeline's stages.
import { collaborationWeights, internationalIntensity } from '../stats/collaboration.js';
import { controls, logOnePlus } from '../stats/panel-variables.js';
import { distanceMatrix, spatialWeights } from '../stats/spatial-weights.js';
import { spillover } from '../stats/spillovers.js';
import type { Regressor } from './calibration.js';

/** What the ingest stage would count for one year, per region (index order of regions.csv). */
export interface YearAggregates {
  /** PUB_it: nano publications with an address in region i */
  pubs: number[];
  /** PUB_ijt: nano publications with addresses in both i and j (symmetric, zero diagonal) */
  copubs: number[][];
  /** Σ_k PUB_ikt: foreign partner mentions on region i's publications */
  foreign: number[];
  /** nano funding, 万元 */
  funding: number[];
  /** nano patent applications (outlier removed) */
  patents: number[];
  gdp: number[];
  population: number[];
  rd: number[];
  /** patents_total − nano patents */
  nonnano: number[];
}

/** The paper's default spatial weights: inverse squared great-circle distance between capitals, eq. (4). */
export function defaultSpatialWeights(points: readonly { lat: number; lon: number }[]): number[][] {
  return spatialWeights(distanceMatrix(points), { decay: 2, standardization: 'eq4' });
}

/** Table 3's variables for every region, from one year's aggregates (they enter the model for the following year). */
export function regressorsOf(year: YearAggregates, spatial: number[][]): Record<Regressor, number[]> {
  const collab = collaborationWeights(year.copubs, year.pubs);
  const techCollab = spillover(collab, year.patents);
  const techSpatial = spillover(spatial, year.patents);
  const intl = internationalIntensity(year.foreign, year.pubs);
  const ctrl = year.gdp.map((gdp, i) =>
    controls({ gdp, population: year.population[i], rd_expenditure: year.rd[i], nonnano_patents: year.nonnano[i] }),
  );
  return {
    nano_funding_log: year.funding.map(logOnePlus),
    techspill_collab_log: techCollab.map(logOnePlus),
    techspill_spatial_log: techSpatial.map(logOnePlus),
    intl_collab_intensity: intl,
    rd_gdp: ctrl.map((c) => c.rd_gdp),
    nonnano_patents_per_rd: ctrl.map((c) => c.nonnano_patents_per_rd),
    gdp_per_capita: ctrl.map((c) => c.gdp_per_capita),
  };
}

/** The funding spillovers of Table 3 (not in the true models 5 and 8, but reported): eq. (2) and (7), log(1 + x). */
export function fundingSpilloversOf(year: YearAggregates, spatial: number[][]): { fundspill_collab_log: number[]; fundspill_spatial_log: number[] } {
  const collab = collaborationWeights(year.copubs, year.pubs);
  return {
    fundspill_collab_log: spillover(collab, year.funding).map(logOnePlus),
    fundspill_spatial_log: spillover(spatial, year.funding).map(logOnePlus),
  };
}
