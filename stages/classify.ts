// classify: leading = the top classify.top_share of regions by classify.criterion summed over the panel years
// (section 4.2; footnote 12 lists the alternative criteria). The number of leading places is ceil(top_share · N):
// the paper's 8 of 30 at 25 % (7.5 rounded up). Regions tied with the last leading place are all leading.
import type { StageFunction } from '../src/engine/stage-api.js';
import type { Criterion, GroupsArtifact, PanelArtifact, PanelRow } from '../src/data/artifacts.js';
import { numberIn, oneOf } from '../src/data/params.js';

const CRITERIA: Record<Criterion, (row: PanelRow) => number> = {
  total_publications: (r) => r.total_publications,
  nano_publications: (r) => r.nano_publications,
  nano_patents: (r) => r.nano_patents,
  total_patents: (r) => r.patents_total,
};

const classify: StageFunction = (ctx) => {
  const criterion = oneOf(ctx, 'classify.criterion', Object.keys(CRITERIA) as Criterion[]);
  const topShare = numberIn(ctx, 'classify.top_share', Number.MIN_VALUE, 1);
  const panel = ctx.inputs.panel as PanelArtifact;
  const value = new Map(panel.regions.map((g) => [g.code, 0]));
  for (const row of panel.rows) value.set(row.region, value.get(row.region)! + CRITERIA[criterion](row));

  const n = panel.regions.length;
  // the epsilon keeps 0.25 · 32 = 8 at 8 despite binary floating point
  const target = Math.min(n, Math.max(1, Math.ceil(topShare * n - 1e-9)));
  const sorted = panel.regions
    .map((g) => ({ region: g.code, name: g.name, value: value.get(g.code)! }))
    .sort((a, b) => b.value - a.value || (a.region < b.region ? -1 : 1));
  const threshold = sorted[target - 1].value;
  const ranking = sorted.map((r) => ({
    ...r,
    // competition ranking: tied regions share the best rank
    rank: sorted.findIndex((s) => s.value === r.value) + 1,
    group: (r.value >= threshold ? 'leading' : 'lagging') as 'leading' | 'lagging',
  }));
  const byValue = new Map<number, string[]>();
  for (const r of sorted) byValue.set(r.value, [...(byValue.get(r.value) ?? []), r.region]);
  const ties = [...byValue]
    .filter(([, regions]) => regions.length > 1)
    .map(([v, regions]) => ({ value: v, regions, at_threshold: v === threshold }));

  const groups: GroupsArtifact = {
    criterion,
    top_share: topShare,
    period: [panel.years[0], panel.years[panel.years.length - 1]],
    n_regions: n,
    n_leading_target: target,
    threshold,
    leading: ranking.filter((r) => r.group === 'leading').map((r) => r.region),
    lagging: ranking.filter((r) => r.group === 'lagging').map((r) => r.region),
    ranking,
    ties,
  };
  ctx.log(`${groups.leading.length} leading regions by ${criterion} (threshold ${threshold}): ${groups.leading.join(' ')}`);
  if (groups.leading.length > target) ctx.log(`a tie at the threshold made ${groups.leading.length} leading regions instead of ${target}`);
  return { groups };
};

export default classify;
