// The report's robustness section: the robustness sweep's summary file (results/robustness.json, written by
// `spillway sweep sweeps/robustness.yaml`, format schemas/sweep-summary.schema.json) → specification curves (one
// Vega-Lite figure per coefficient of interest, a curve and its "dashboard" of choices per sample) and a table of how
// often each coefficient keeps the sign and 5 % significance of the default specification.
//
// Honesty: the section shows the sweep as current only when its default variant (the one whose params all equal
// pipeline.yaml's) produced exactly the models this report renders as Table 4 (equal content hash) and the report was
// computed with pipeline.yaml's values of the swept params; otherwise it says the sweep is stale and shows no numbers.
// The marks carry no per-item ARIA labels (thousands of them at 216 variants); each figure has one text alternative
// (specCurveAlt) on its <svg>. Everything here is a pure function of the summary, the models and the params: deterministic, no clock.
import { createHash } from 'node:crypto';
import { SpillwayError } from '../../errors.js';
import type { VegaLiteSpec } from '../figure.js';
import { estimate, type Table, type TableRow } from '../table.js';

/** two-sided 5 %: Φ⁻¹(0.975) */
export const Z95 = 1.959963984540054;

export const SAMPLES = ['all', 'leading', 'lagging'] as const;
export type Sample = (typeof SAMPLES)[number];
const SAMPLE_LABEL: Record<Sample, string> = { all: 'All regions', leading: 'Leading regions', lagging: 'Lagging regions' };

/** A coefficient of interest and the estimate metrics (pipeline.yaml) that carry it: `estimate.<prefix>_<sample>`. */
export interface Coefficient {
  id: string;
  label: string;
  variable: string;
  coef: string;
  se: string;
  converged: string;
  nearFlat: string;
  /** the Table 4 model it is read from, by sample */
  models: Record<Sample, string>;
}

export const COEFFICIENTS: Coefficient[] = [
  { id: 'funding', label: 'Nano funding', variable: 'nano_funding_log', coef: 'funding', se: 'se_funding', converged: 'converged', nearFlat: 'near_flat', models: { all: '2', leading: '5', lagging: '8' } },
  { id: 'techspill-collab', label: 'TECHSPILL via collaboration', variable: 'techspill_collab_log', coef: 'techspill_collab', se: 'se_techspill_collab', converged: 'converged', nearFlat: 'near_flat', models: { all: '2', leading: '5', lagging: '8' } },
  { id: 'techspill-proximity', label: 'TECHSPILL via proximity', variable: 'techspill_spatial_log', coef: 'techspill_spatial', se: 'se_techspill_spatial', converged: 'converged', nearFlat: 'near_flat', models: { all: '2', leading: '5', lagging: '8' } },
  { id: 'fundspill-collab', label: 'FUNDSPILL via collaboration', variable: 'fundspill_collab_log', coef: 'fundspill_collab', se: 'se_fundspill_collab', converged: 'converged_fundspill', nearFlat: 'near_flat_fundspill', models: { all: '3', leading: '6', lagging: '9' } },
  { id: 'fundspill-proximity', label: 'FUNDSPILL via proximity', variable: 'fundspill_spatial_log', coef: 'fundspill_spatial', se: 'se_fundspill_spatial', converged: 'converged_fundspill', nearFlat: 'near_flat_fundspill', models: { all: '3', leading: '6', lagging: '9' } },
];

const metric = (name: string, sample: Sample) => `estimate.${name}_${sample}`;

// ---------------------------------------------------------------------------------------------------------------
// The summary, as the report reads it (strict about the fields it uses)

export interface SummaryVariant {
  id: string;
  params: Record<string, unknown>;
  changed: string[];
  status: string;
  metrics: Record<string, unknown>;
  modelsContent: string | null;
}

export interface RobustnessSummary {
  sweep: string;
  sweepFile: { path: string; sha256: string } | null;
  grid: Record<string, unknown[]>;
  base: Record<string, unknown>;
  variants: SummaryVariant[];
}

function bad(path: string, pointer: string, expected: string): never {
  throw new SpillwayError('stageFailed', `report: the sweep summary ${path} is not what \`spillway sweep\` writes (at ${pointer || '/'})`, {
    file: path,
    pointer,
    expected,
    hint: 'write it again: ./bin/spillway.js sweep sweeps/robustness.yaml (format: schemas/sweep-summary.schema.json)',
  });
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Reads a parsed summary file; a field the section uses that is missing or of the wrong type is an error with its JSON pointer. */
export function readSummary(value: unknown, path: string): RobustnessSummary {
  if (!isMap(value) || value.spillway_sweep_summary !== 1) bad(path, '/spillway_sweep_summary', 'a sweep summary (spillway_sweep_summary: 1)');
  const doc = value as Record<string, unknown>;
  if (typeof doc.sweep !== 'string') bad(path, '/sweep', 'the sweep name (a string)');
  if (!isMap(doc.grid)) bad(path, '/grid', 'an object of key → list of values');
  if (!isMap(doc.base)) bad(path, '/base', 'an object of key → pipeline.yaml value');
  if (!Array.isArray(doc.variants)) bad(path, '/variants', 'a list of variants');
  const grid: Record<string, unknown[]> = {};
  for (const [k, v] of Object.entries(doc.grid as Record<string, unknown>)) {
    if (!Array.isArray(v)) bad(path, `/grid/${k}`, 'a list of values');
    grid[k] = v as unknown[];
  }
  const sf = doc.sweep_file;
  const sweepFile = isMap(sf) && typeof sf.path === 'string' && typeof sf.sha256 === 'string' ? { path: sf.path, sha256: sf.sha256 } : null;
  const ids = new Set<string>();
  const variants = (doc.variants as unknown[]).map((v, i): SummaryVariant => {
    const at = `/variants/${i}`;
    if (!isMap(v)) bad(path, at, 'a variant object');
    const x = v as Record<string, unknown>;
    if (typeof x.id !== 'string') bad(path, `${at}/id`, 'the experiment id');
    // a sweep writes each experiment once (its id is the hash of its overrides): a repeat would be counted twice
    if (ids.has(x.id as string)) bad(path, `${at}/id`, `an experiment id not already listed (${x.id as string} is repeated)`);
    ids.add(x.id as string);
    if (!isMap(x.params)) bad(path, `${at}/params`, 'an object of param key → value');
    if (!Array.isArray(x.changed)) bad(path, `${at}/changed`, 'a list of param keys');
    if (typeof x.status !== 'string') bad(path, `${at}/status`, 'ok, failed, interrupted or not_run');
    if (!isMap(x.metrics)) bad(path, `${at}/metrics`, 'an object of metric → value');
    const stages = isMap(x.stages) ? x.stages : {};
    const est = isMap(stages.estimate) && isMap(stages.estimate.outputs) && isMap(stages.estimate.outputs.models) ? stages.estimate.outputs.models : null;
    return {
      id: x.id as string,
      params: x.params as Record<string, unknown>,
      changed: (x.changed as unknown[]).map(String),
      status: x.status as string,
      metrics: x.metrics as Record<string, unknown>,
      modelsContent: est && typeof est.content === 'string' ? est.content : null,
    };
  });
  return { sweep: doc.sweep as string, sweepFile, grid, base: doc.base as Record<string, unknown>, variants };
}

/** SHA-256 of a value's canonical JSON (keys sorted at every level, no whitespace): the summary's `content` hash. */
export function contentHash(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (isMap(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = v[k];
      return sorted;
    }
    return v;
  });
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Is the sweep current?

export type RobustnessState =
  | { kind: 'absent' }
  | { kind: 'stale'; summary: RobustnessSummary; reasons: string[] }
  | { kind: 'current'; summary: RobustnessSummary; defaultVariant: SummaryVariant };

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The variant with pipeline.yaml's values of every key it sets (none changed), in sweep order. */
export function defaultVariant(summary: RobustnessSummary): SummaryVariant | undefined {
  return summary.variants.find((v) => v.changed.length === 0);
}

/**
 * Whether the summary describes this report's computation: its default variant finished with the very models this
 * report renders (content hash), and the report ran with pipeline.yaml's values of the swept keys (`flatParams`: the
 * report's params, dotted).
 */
export function robustnessState(summary: RobustnessSummary | null, models: unknown, flatParams: Record<string, unknown>): RobustnessState {
  if (summary === null) return { kind: 'absent' };
  const reasons: string[] = [];
  const changed = Object.keys(summary.base).filter((k) => Object.hasOwn(flatParams, k) && !same(flatParams[k], summary.base[k]));
  if (changed.length > 0) {
    reasons.push(`this report was computed with other values of swept parameters than the sweep's defaults (${changed.map((k) => `${k} = ${show(flatParams[k])}, sweep default ${show(summary.base[k])}`).join('; ')})`);
  }
  const def = defaultVariant(summary);
  if (def === undefined) reasons.push('the sweep has no variant with pipeline.yaml\'s values, so it cannot be checked against Table 4');
  else if (def.status !== 'ok') reasons.push(`the sweep's default variant ${def.id} did not finish (${def.status})`);
  else if (def.modelsContent === null) reasons.push(`the summary records no models hash for the default variant ${def.id}`);
  else if (def.modelsContent !== contentHash(models)) {
    reasons.push(`the default variant's Table 4 models (${def.modelsContent.slice(7, 19)}…) are not the ones this report renders (${contentHash(models).slice(7, 19)}…): the sweep was computed on other data, code or parameters`);
  }
  else {
    const edited = metricsNotIn(def, models);
    if (edited.length > 0) {
      reasons.push(`the default variant's metrics are not the numbers of its own models (${edited.slice(0, 3).join('; ')}${edited.length > 3 ? `; ${edited.length - 3} more` : ''}): the summary was edited or damaged after the sweep wrote it`);
    }
  }
  if (reasons.length > 0 || def === undefined) return { kind: 'stale', summary, reasons };
  return { kind: 'current', summary, defaultVariant: def };
}

/**
 * The default variant's metrics that differ from the models this report renders (which its models hash was just found
 * equal to): the curves' default mark and Table A3's default column come from the metrics, so a summary edited by hand
 * with its hash left alone must not pass as current.
 */
function metricsNotIn(def: SummaryVariant, models: unknown): string[] {
  const list = isMap(models) && Array.isArray(models.models) ? (models.models as unknown[]) : [];
  const fitOf = (name: string): Record<string, unknown> | undefined => {
    const m = list.find((x) => isMap(x) && String(x.name) === name) as Record<string, unknown> | undefined;
    return m && isMap(m.fit) ? m.fit : undefined;
  };
  const at = (fit: Record<string, unknown> | undefined, field: string, variable: string): unknown => {
    const table = fit?.[field];
    return isMap(table) ? table[variable] : undefined;
  };
  const differ: string[] = [];
  for (const c of COEFFICIENTS)
    for (const sample of SAMPLES) {
      const fit = fitOf(c.models[sample]);
      for (const [name, want] of [
        [c.coef, at(fit, 'coef', c.variable)],
        [c.se, at(fit, 'se', c.variable)],
      ] as const) {
        const got = def.metrics[metric(name, sample)];
        // a metric the sweep could not read is null; the model's value is then absent too
        if ((got ?? undefined) !== want) differ.push(`${metric(name, sample)} = ${show(got)}, models ${show(want)}`);
      }
    }
  return differ;
}

// ---------------------------------------------------------------------------------------------------------------
// Specification curves

export type FitStatus = 'converged' | 'near-flat likelihood' | 'not converged' | 'no estimate' | 'failed or not run';
/** statuses drawn in a curve (they have an estimate and an SE) */
export const DRAWN: FitStatus[] = ['converged', 'near-flat likelihood', 'not converged'];

export interface SpecPoint {
  id: string;
  params: Record<string, unknown>;
  isDefault: boolean;
  status: FitStatus;
  estimate: number | null;
  se: number | null;
  lo: number | null;
  hi: number | null;
  /** 95 % interval excludes 0 (|estimate / se| > 1.96) */
  significant: boolean | null;
  /** 1-based position in the curve (sorted by estimate, then id); null when not drawn */
  rank: number | null;
}

export interface SpecCurve {
  coefficient: Coefficient;
  sample: Sample;
  /** every variant: drawn ones first, in rank order, then the others by id */
  points: SpecPoint[];
  default: SpecPoint | null;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One variant's fit of one coefficient in one sample. */
export function specPoint(v: SummaryVariant, c: Coefficient, sample: Sample, isDefault: boolean): SpecPoint {
  const m = v.metrics;
  const est = m[metric(c.coef, sample)];
  const se = m[metric(c.se, sample)];
  const base = { id: v.id, params: v.params, isDefault, rank: null };
  if (v.status !== 'ok') return { ...base, status: 'failed or not run', estimate: null, se: null, lo: null, hi: null, significant: null };
  if (!finite(est) || !finite(se) || se <= 0) return { ...base, status: 'no estimate', estimate: finite(est) ? est : null, se: null, lo: null, hi: null, significant: null };
  const status: FitStatus = m[metric(c.converged, sample)] !== true ? 'not converged' : m[metric(c.nearFlat, sample)] === true ? 'near-flat likelihood' : 'converged';
  const lo = est - Z95 * se;
  const hi = est + Z95 * se;
  return { ...base, status, estimate: est, se, lo, hi, significant: lo > 0 || hi < 0 };
}

/** The curve of one coefficient in one sample: drawn variants sorted by estimate (ties by id), ranked 1…n. */
export function specCurve(summary: RobustnessSummary, c: Coefficient, sample: Sample): SpecCurve {
  const def = defaultVariant(summary);
  const all = summary.variants.map((v) => specPoint(v, c, sample, v === def));
  const byId = (a: SpecPoint, b: SpecPoint) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const drawn = all.filter((p) => DRAWN.includes(p.status)).sort((a, b) => (a.estimate as number) - (b.estimate as number) || byId(a, b));
  drawn.forEach((p, i) => (p.rank = i + 1));
  const rest = all.filter((p) => !DRAWN.includes(p.status)).sort(byId);
  return { coefficient: c, sample, points: [...drawn, ...rest], default: all.find((p) => p.isDefault) ?? null };
}

export interface Agreement {
  variants: number;
  /** converged, not near-flat: the fits the shares are computed over */
  usable: number;
  sameSign: number;
  /** same sign, and significant at 5 % exactly when the default is */
  sameSignAndSignificance: number;
  nearFlat: number;
  notConverged: number;
  noEstimate: number;
  failed: number;
}

/** How often the usable fits keep the default's sign and its 5 % significance (null when the default has no estimate). */
export function agreement(curve: SpecCurve): Agreement & { reference: SpecPoint | null } {
  const count = (s: FitStatus) => curve.points.filter((p) => p.status === s).length;
  const ref = curve.default && curve.default.estimate !== null && curve.default.significant !== null ? curve.default : null;
  const usable = curve.points.filter((p) => p.status === 'converged');
  const sign = (x: number) => Math.sign(x);
  const sameSign = ref ? usable.filter((p) => sign(p.estimate as number) === sign(ref.estimate as number)) : [];
  return {
    reference: ref,
    variants: curve.points.length,
    usable: usable.length,
    sameSign: sameSign.length,
    sameSignAndSignificance: ref ? sameSign.filter((p) => p.significant === ref.significant).length : 0,
    nearFlat: count('near-flat likelihood'),
    notConverged: count('not converged'),
    noEstimate: count('no estimate'),
    failed: count('failed or not run'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The dashboard: one row per choice (axis = value), a mark where a variant used it

export function formatChoice(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(3)));
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The choice rows, in grid order: "key = value" for each value of each swept key (explicit variants' keys after). */
export function choiceRows(summary: RobustnessSummary): { key: string; value: unknown; label: string }[] {
  const rows: { key: string; value: unknown; label: string }[] = [];
  const seen = new Set<string>();
  const add = (key: string, value: unknown) => {
    const id = `${key}\0${JSON.stringify(value)}`;
    if (seen.has(id)) return;
    seen.add(id);
    rows.push({ key, value, label: `${key} = ${formatChoice(value)}` });
  };
  for (const [key, values] of Object.entries(summary.grid)) for (const value of values) add(key, value);
  for (const v of summary.variants) for (const [key, value] of Object.entries(v.params)) if (Object.hasOwn(summary.grid, key) || key in summary.base) add(key, value);
  return rows;
}

const STATUS_COLOURS: Record<string, string> = { converged: '#222222', 'near-flat likelihood': '#e6550d', 'not converged': '#c51b8a' };
const FIGURE_CONFIG = {
  font: 'system-ui, -apple-system, Segoe UI, sans-serif',
  // labelLimit: the dashboard's choice labels ("classify.criterion = total_publications") in full
  axis: { labelFontSize: 13, titleFontSize: 13, labelLimit: 420 },
  legend: { labelFontSize: 13, titleFontSize: 13, symbolSize: 100, orient: 'top', labelLimit: 300 },
  title: { fontSize: 16, subtitleFontSize: 13, anchor: 'start' },
  concat: { spacing: 6 },
};

/** One coefficient's figure: per sample, the sorted estimates with 95 % intervals over the dashboard of choices. */
export function specCurveSpec(summary: RobustnessSummary, c: Coefficient, curves: SpecCurve[]): VegaLiteSpec {
  const rows = choiceRows(summary);
  const width = Math.max(360, Math.min(900, 3 * summary.variants.length));
  const colour = { field: 'status', type: 'nominal', title: 'Fit', scale: { domain: DRAWN, range: DRAWN.map((s) => STATUS_COLOURS[s]) } } as const;
  const shape = { field: 'status', type: 'nominal', title: 'Fit', scale: { domain: DRAWN, range: ['circle', 'triangle-up', 'cross'] } } as const;
  const blocks = curves.flatMap((curve) => {
    const drawn = curve.points.filter((p) => p.rank !== null);
    const n = drawn.length;
    const scale = { domain: [0, Math.max(1, n) + 1], nice: false, zero: false };
    // every layer of a view gives its x and y the same axis and title (vega-lite merges them)
    const xCurve = { field: 'rank', type: 'quantitative', scale, axis: null } as const;
    const xDash = { field: 'rank', type: 'quantitative', scale, axis: { title: 'Variants sorted by estimate (dashed blue: pipeline.yaml\'s specification)', labels: false, ticks: false, grid: false } } as const;
    const y = (field: string) => ({ field, type: 'quantitative', title: ['Estimate', '(95% interval)'] }) as const;
    const a = agreement(curve);
    const left = [a.nearFlat ? `${a.nearFlat} near-flat` : '', a.notConverged ? `${a.notConverged} not converged` : '', a.noEstimate ? `${a.noEstimate} without an estimate (not drawn)` : '', a.failed ? `${a.failed} failed or not run (not drawn)` : ''].filter(Boolean);
    const points = drawn.map((p) => ({ rank: p.rank, estimate: p.estimate, lo: p.lo, hi: p.hi, status: p.status, variant: p.id, default: p.isDefault }));
    const def = drawn.filter((p) => p.isDefault).map((p) => ({ rank: p.rank, estimate: p.estimate }));
    const used = drawn.flatMap((p) => rows.filter((r) => Object.hasOwn(p.params, r.key) ? same(p.params[r.key], r.value) : same(summary.base[r.key], r.value)).map((r) => ({ rank: p.rank, choice: r.label, status: p.status })));
    const curveView = {
      title: { text: `${SAMPLE_LABEL[curve.sample]} (model ${c.models[curve.sample]}): ${n} of ${curve.points.length} variants drawn`, subtitle: left.length > 0 ? left.join(', ') : 'every variant converged, none near-flat', fontSize: 14 },
      width,
      height: 170,
      layer: [
        { data: { values: [{ estimate: 0 }] }, mark: { type: 'rule', color: '#888', strokeDash: [2, 2], aria: false }, encoding: { y: y('estimate') } },
        ...(def.length > 0 ? [{ data: { values: def }, mark: { type: 'rule', color: '#2c7fb8', strokeWidth: 1.5, strokeDash: [6, 3], aria: false }, encoding: { x: xCurve } }] : []),
        {
          data: { values: points },
          mark: { type: 'rule', opacity: 0.45, aria: false },
          encoding: { x: xCurve, y: y('lo'), y2: { field: 'hi' }, color: colour },
        },
        { data: { values: points }, mark: { type: 'point', filled: true, size: 22, opacity: 1, aria: false }, encoding: { x: xCurve, y: y('estimate'), color: colour, shape } },
        ...(def.length > 0 ? [{ data: { values: def }, mark: { type: 'point', shape: 'diamond', filled: true, size: 110, color: '#2c7fb8', aria: false }, encoding: { x: xCurve, y: y('estimate') } }] : []),
      ],
    };
    const dashboard = {
      width,
      height: 16 * rows.length,
      layer: [
        ...(def.length > 0 ? [{ data: { values: def }, mark: { type: 'rule', color: '#2c7fb8', strokeWidth: 1.5, strokeDash: [6, 3], aria: false }, encoding: { x: xDash } }] : []),
        {
          data: { values: used },
          mark: { type: 'tick', orient: 'vertical', thickness: 1.5, size: 11, aria: false },
          encoding: {
            x: xDash,
            y: { field: 'choice', type: 'nominal', title: null, sort: rows.map((r) => r.label), scale: { domain: rows.map((r) => r.label) } },
            color: colour,
          },
        },
      ],
    };
    return [curveView, dashboard];
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Specification curve: ${c.label}`, subtitle: `${summary.variants.length} specifications of sweep "${summary.sweep}"; marks below each curve: the choices that made each variant` },
    config: FIGURE_CONFIG,
    vconcat: blocks,
    resolve: { scale: { color: 'shared', shape: 'shared' } },
  } as unknown as VegaLiteSpec;
}

/** Alt text of a coefficient's figure: what it shows and the agreement figures, in words. */
export function specCurveAlt(c: Coefficient, curves: SpecCurve[]): string {
  const parts = curves.map((curve) => {
    const a = agreement(curve);
    const drawn = curve.points.filter((p) => p.rank !== null);
    const range = drawn.length > 0 ? `estimates from ${(drawn[0].estimate as number).toFixed(3)} to ${(drawn[drawn.length - 1].estimate as number).toFixed(3)}` : 'no estimates';
    const ref = a.reference ? `default ${(a.reference.estimate as number).toFixed(3)} (rank ${a.reference.rank} of ${drawn.length}); ${a.sameSign} of ${a.usable} usable fits share its sign` : 'no default estimate';
    return `${SAMPLE_LABEL[curve.sample]}: ${range}, ${ref}`;
  });
  return `Specification curve of the ${c.label} coefficient: each variant's estimate with its 95% interval, sorted, and below it the choices that made the variant. ${parts.join('. ')}.`;
}

// ---------------------------------------------------------------------------------------------------------------
// The table

const pct = (k: number, n: number) => (n === 0 ? null : { kind: 'number' as const, value: (100 * k) / n, digits: 0, suffix: '%' });

export function robustnessTable(summary: RobustnessSummary, curves: SpecCurve[]): Table {
  const sections = COEFFICIENTS.map((c) => ({
    title: c.label,
    rows: curves.filter((cv) => cv.coefficient === c).map((curve): TableRow => {
      const a = agreement(curve);
      const ref = a.reference;
      return {
        label: `${SAMPLE_LABEL[curve.sample]} (${c.models[curve.sample]})`,
        cells: [
          ref ? estimate(ref.estimate as number, ref.se) : 'none',
          ref ? (ref.significant ? 'yes' : 'no') : null,
          a.variants,
          a.usable,
          ref ? a.sameSign : null,
          ref ? pct(a.sameSign, a.usable) : null,
          ref ? a.sameSignAndSignificance : null,
          ref ? pct(a.sameSignAndSignificance, a.usable) : null,
          a.nearFlat,
          a.notConverged,
          a.noEstimate,
          a.failed,
        ],
      };
    }),
  }));
  const def = defaultVariant(summary);
  return {
    id: 'robustness-agreement',
    number: 'A3',
    title: `Robustness: the coefficients of interest across the ${summary.variants.length} specifications of sweep "${summary.sweep}"`,
    stubHeader: 'Coefficient, sample (model)',
    columns: ['Default', 'Sig.', 'Variants', 'Usable', 'Sign kept', 'Sign kept %', 'Sign & sig. kept', 'Sign & sig. kept %', 'Near-flat', 'Not conv.', 'No est.', 'Failed'],
    sections,
    columnDigits: [undefined, undefined, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    notes: [
      `Default: the estimate (SE) of the specification with pipeline.yaml's values (variant ${def?.id ?? 'none'}), equal to Table 4. Sig.: significant at 5%, i.e. its 95% interval (estimate ± 1.96 SE) excludes 0.`,
      'Usable: fits that converged and are not near-flat (docs/estimators.md); the shares are of usable fits, the default included. Sign kept: same sign as the default. Sign & sig. kept: same sign, and significant at 5% exactly when the default is.',
      'Near-flat and not converged (Not conv.) fits are drawn in the specification curves with their own marks but are not usable; a fit without an estimate (No est.: the model failed or dropped the variable) and a variant that failed or did not run (Failed) are counted, not drawn.',
    ],
  };
}

// ---------------------------------------------------------------------------------------------------------------

export interface RobustnessSection {
  state: RobustnessState;
  curves: SpecCurve[];
}

/** Every coefficient × sample curve of a current summary, in COEFFICIENTS × SAMPLES order. */
export function robustnessCurves(summary: RobustnessSummary): SpecCurve[] {
  return COEFFICIENTS.flatMap((c) => SAMPLES.map((s) => specCurve(summary, c, s)));
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
