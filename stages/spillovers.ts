// spillovers: per region-year TECHSPILL and FUNDSPILL via collaboration (eq. 1-2) and via proximity (eq. 6-7),
// always over j ≠ i; international collaboration intensity (eq. 8, percent, each foreign partner counted) and the
// inter-regional collaboration intensity of Table 2 (percent). Levels, not logs: the lag stage transforms them.
import type { StageFunction } from '../src/engine/stage-api.js';
import type { PanelArtifact, SpilloverRow, SpilloversArtifact, WeightsArtifact } from '../src/data/artifacts.js';
import { internationalIntensity, nationalIntensity } from '../src/stats/collaboration.js';
import { spillover } from '../src/stats/spillovers.js';

const spillovers: StageFunction = (ctx) => {
  const panel = ctx.inputs.panel as PanelArtifact;
  const weights = ctx.inputs.weights as WeightsArtifact;
  const codes = weights.regions;
  const n = codes.length;
  const index = new Map(codes.map((c, i) => [c, i]));
  const byYear = new Map(panel.years.map((y) => [y, new Array<PanelArtifact['rows'][number]>(n)]));
  for (const row of panel.rows) byYear.get(row.year)![index.get(row.region)!] = row;

  const rows: SpilloverRow[] = [];
  for (const { year, matrix: collab } of weights.collaboration) {
    const yearRows = byYear.get(year)!;
    const pat = yearRows.map((r) => r.nano_patents);
    const fund = yearRows.map((r) => r.nano_funding);
    const pubs = yearRows.map((r) => r.nano_publications);
    const techCollab = spillover(collab, pat);
    const techSpatial = spillover(weights.spatial.matrix, pat);
    const fundCollab = spillover(collab, fund);
    const fundSpatial = spillover(weights.spatial.matrix, fund);
    const intl = internationalIntensity(yearRows.map((r) => r.foreign_copublications), pubs);
    const national = nationalIntensity(yearRows.map((r) => r.interregional_publications), pubs);
    codes.forEach((region, i) =>
      rows.push({
        region,
        year,
        techspill_collab: techCollab[i],
        techspill_spatial: techSpatial[i],
        fundspill_collab: fundCollab[i],
        fundspill_spatial: fundSpatial[i],
        intl_collab_intensity: intl[i],
        national_collab_intensity: national[i],
      }),
    );
  }
  rows.sort((a, b) => index.get(a.region)! - index.get(b.region)! || a.year - b.year);
  return { spillovers: { regions: codes, years: panel.years, rows } satisfies SpilloversArtifact };
};

export default spillovers;
