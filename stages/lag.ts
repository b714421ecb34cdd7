// lag: the estimation design of Table 3/4 — for every region and estimation year t (2000-2010), the outcome
// nano_patents_t and the nine regressors of year t − lag.years; log(1 + x) where Table 3 says "(log)"; the controls
// in the units of src/stats/panel-variables.ts. International collaboration intensity stays in percent: Table 3 labels
// it "(log)", but its range (0 to 68.2, mean 15.78) is that of a percentage, not of a log.
import type { StageFunction } from '../src/engine/stage-api.js';
import type { DesignArtifact, DesignRow, DesignVariable, GroupsArtifact, PanelArtifact, SpilloversArtifact } from '../src/data/artifacts.js';
import { SpillwayError } from '../src/errors.js';
import { numberIn, yearRange } from '../src/data/params.js';
import { controls, laggedRows, logOnePlus } from '../src/stats/panel-variables.js';

const VARIABLES: DesignArtifact['variables'] = [
  { name: 'nano_funding_log', label: 'Nano funding (log)', transform: 'log1p', unit: 'log(1 + 10,000 yuan)', source: 'panel.nano_funding' },
  { name: 'techspill_collab_log', label: 'Nanotech spillovers – Collaboration (log)', transform: 'log1p', unit: 'log(1 + patents)', source: 'spillovers.techspill_collab (eq. 1)' },
  { name: 'techspill_spatial_log', label: 'Nanotech spillovers – Proximity (log)', transform: 'log1p', unit: 'log(1 + patents)', source: 'spillovers.techspill_spatial (eq. 6)' },
  { name: 'fundspill_collab_log', label: 'Funding spillovers – Collaboration (log)', transform: 'log1p', unit: 'log(1 + 10,000 yuan)', source: 'spillovers.fundspill_collab (eq. 2)' },
  { name: 'fundspill_spatial_log', label: 'Funding spillovers – Proximity (log)', transform: 'log1p', unit: 'log(1 + 10,000 yuan)', source: 'spillovers.fundspill_spatial (eq. 7)' },
  { name: 'intl_collab_intensity', label: 'International collaboration intensity', transform: 'none', unit: 'percent', source: 'spillovers.intl_collab_intensity (eq. 8)' },
  { name: 'rd_gdp', label: 'R&D/GDP', transform: 'none', unit: 'percent', source: '100 · rd_expenditure / gdp' },
  { name: 'nonnano_patents_per_rd', label: 'Non-nano patent/R&D', transform: 'none', unit: 'patents per million yuan', source: 'nonnano_patents / (100 · rd_expenditure [100 million yuan])' },
  { name: 'gdp_per_capita', label: 'GDP per capita', transform: 'none', unit: '10,000 yuan per person', source: 'gdp [100 million yuan] / population [10,000]' },
];

const lag: StageFunction = (ctx) => {
  const years = numberIn(ctx, 'lag.years', 0, 50, true);
  const [first, last] = yearRange(ctx, 'lag.estimation_years');
  const panel = ctx.inputs.panel as PanelArtifact;
  const spill = ctx.inputs.spillovers as SpilloversArtifact;
  const groups = ctx.inputs.groups as GroupsArtifact;
  const leading = new Set(groups.leading);
  const [panelFirst, panelLast] = [panel.years[0], panel.years[panel.years.length - 1]];
  if (first < panelFirst || last > panelLast) {
    throw new SpillwayError('invalidPipeline', `lag.estimation_years [${first}, ${last}] reach outside the panel years ${panelFirst}-${panelLast}`, {
      field: 'lag.estimation_years',
      expected: `years within ${panelFirst}-${panelLast} (ingest.years)`,
      hint: 'narrow lag.estimation_years, or widen ingest.years if the raw data cover more years',
    });
  }
  const spillByKey = new Map(spill.rows.map((r) => [`${r.region}|${r.year}`, r]));

  const lagged = laggedRows(panel.rows, years);
  const rows: DesignRow[] = [];
  const excluded: DesignArtifact['excluded'] = [];
  panel.rows.forEach((row, k) => {
    if (row.year < first || row.year > last) return;
    const source = lagged[k];
    if (source === undefined) {
      excluded.push({ region: row.region, year: row.year, reason: `no panel data for ${row.year - years} (lag ${years})` });
      return;
    }
    const s = spillByKey.get(`${source.region}|${source.year}`)!;
    const c = controls(source);
    const values: Record<DesignVariable, number> = {
      nano_funding_log: logOnePlus(source.nano_funding),
      techspill_collab_log: logOnePlus(s.techspill_collab),
      techspill_spatial_log: logOnePlus(s.techspill_spatial),
      fundspill_collab_log: logOnePlus(s.fundspill_collab),
      fundspill_spatial_log: logOnePlus(s.fundspill_spatial),
      intl_collab_intensity: s.intl_collab_intensity,
      rd_gdp: c.rd_gdp,
      nonnano_patents_per_rd: c.nonnano_patents_per_rd,
      gdp_per_capita: c.gdp_per_capita,
    };
    rows.push({ region: row.region, year: row.year, group: leading.has(row.region) ? 'leading' : 'lagging', nano_patents: row.nano_patents, ...values });
  });
  if (excluded.length > 0) ctx.log(`${excluded.length} region-years lack lagged data and are left out (listed in design.excluded)`);
  const design: DesignArtifact = {
    lag_years: years,
    estimation_years: [first, last],
    criterion: groups.criterion,
    leading: groups.leading,
    variables: VARIABLES,
    rows,
    excluded,
  };
  return { design };
};


export default lag;
