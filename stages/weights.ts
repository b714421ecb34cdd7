// weights: collaboration weights PUB_ijt / PUB_jt per year (eq. 1-2) and the spatial proximity matrix from
// great-circle distances between capitals (eq. 3, 4 or 5; footnote 6). Independent of the leading/lagging groups.
import type { StageFunction } from '../src/engine/stage-api.js';
import type { CollaborationArtifact, PanelArtifact, SpatialStandardization, WeightsArtifact } from '../src/data/artifacts.js';
import { numberIn, oneOf } from '../src/data/params.js';
import { collaborationWeights } from '../src/stats/collaboration.js';
import { distanceMatrix, spatialWeights } from '../src/stats/spatial-weights.js';

const DESCRIPTION: Record<SpatialStandardization, string> = {
  eq3: 'eq. (3): w_ij = d_ij^-decay, not standardised',
  eq4: 'eq. (4): w_ij = w*_ij / Σ_j w*_ij — each row sums to 1 (the paper calls this "column standardization"; usually called row standardisation)',
  eq5: 'eq. (5): w_ij = w*_ij / Σ_i w*_ij — each column sums to 1 (the paper calls this "row standardization"; usually called column standardisation)',
};

const weights: StageFunction = (ctx) => {
  const decay = numberIn(ctx, 'weights.distance_decay', 0, 20);
  const standardization = oneOf(ctx, 'weights.spatial_standardization', ['eq3', 'eq4', 'eq5'] as const);
  const panel = ctx.inputs.panel as PanelArtifact;
  const collaboration = ctx.inputs.collaboration as CollaborationArtifact;
  const codes = panel.regions.map((g) => g.code);
  const index = new Map(codes.map((c, i) => [c, i]));
  const n = codes.length;

  const distanceKm = distanceMatrix(panel.regions);
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sum += distanceKm[i][j];
  const spatial = spatialWeights(distanceKm, { decay, standardization });

  const pubs = new Map(panel.years.map((y) => [y, new Array<number>(n).fill(0)]));
  for (const row of panel.rows) pubs.get(row.year)![index.get(row.region)!] = row.nano_publications;
  const copubs = new Map(panel.years.map((y) => [y, Array.from({ length: n }, () => new Array<number>(n).fill(0))]));
  for (const p of collaboration.copublications) {
    const m = copubs.get(p.year)!;
    const a = index.get(p.region_a)!;
    const b = index.get(p.region_b)!;
    m[a][b] = p.count;
    m[b][a] = p.count;
  }

  const artifact: WeightsArtifact = {
    regions: codes,
    years: panel.years,
    spatial: {
      decay,
      standardization,
      description: DESCRIPTION[standardization],
      distance_km: distanceKm,
      mean_distance_km: sum / ((n * (n - 1)) / 2),
      matrix: spatial,
    },
    collaboration: panel.years.map((year) => ({ year, matrix: collaborationWeights(copubs.get(year)!, pubs.get(year)!) })),
  };
  ctx.log(`spatial ${standardization}, decay ${decay}; mean distance between capitals ${artifact.spatial.mean_distance_km.toFixed(1)} km`);
  return { weights: artifact };
};

export default weights;
