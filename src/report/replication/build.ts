// Assembles the replication report: every table in Markdown/LaTeX/CSV, every figure as SVG (and its Vega-Lite
// spec), the calibration comparison, and index.html. Returns file contents by relative path; writes nothing.
// Deterministic: no clock, no randomness, so the same artifacts give byte-identical files.
import { tableToCsv } from '../csv.js';
import { renderVegaLiteToSvg } from '../figure.js';
import { renderHtmlReport, type HtmlFact, type HtmlSection } from '../html.js';
import { tableToLatex } from '../latex.js';
import { tableToMarkdown } from '../markdown.js';
import { captionText, selectColumns, type Table } from '../table.js';
import { readReplicationData, type DatasetHints, type ReplicationArtifacts, type ReplicationData } from './data.js';
import {
  calibrationRows,
  calibrationTable,
  figure3PublishedNote,
  figure3Spec,
  figure4PublishedNote,
  figure4Spec,
  publishedTable1,
  publishedTable2,
  publishedTable3,
  publishedTable4,
  table1,
  table2,
  table3,
  table4,
  table4Companion,
  labelsFor,
  recoveryTable,
  truthModels,
  type CalibrationRow,
} from './paper-report.js';
import type { Published } from './published.js';
import { COEFFICIENTS, readSummary, robustnessCurves, robustnessState, robustnessTable, specCurveAlt, specCurveSpec } from './robustness.js';

/** The robustness sweep's summary file as the report stage found it (parsed JSON; null: absent). */
export interface RobustnessInput {
  /** project-relative path, for messages */
  path: string;
  summary: unknown | null;
}

/** What to run to make (or refresh) the robustness section, with the README's commands. */
export const ROBUSTNESS_COMMANDS = '`./bin/spillway.js sweep sweeps/robustness.yaml` (216 variants; a few minutes on two cores, resumable), then `./bin/spillway.js run` (or `npm run pipeline`)';

/** What the run was computed with beyond the artifacts: the declared params' pipeline.yaml values and the raw files. */
export interface RunIdentity {
  /** dotted key → value in pipeline.yaml's params, for the params the report declares (null: pipeline.yaml not given) */
  defaults?: Record<string, unknown> | null;
  /** the raw data files ingest read, with their SHA-256 */
  rawFiles?: { path: string; sha256: string; bytes: number }[];
}

/** Declared params whose value differs from pipeline.yaml's (a --set run), as dotted key → [pipeline.yaml, this run]. */
export function paramOverrides(params: Record<string, unknown>, defaults: Record<string, unknown>): [string, unknown, unknown][] {
  const flat = flattenParams(params);
  return Object.keys(flat)
    .filter((k) => JSON.stringify(flat[k]) !== JSON.stringify(defaults[k]))
    .map((k) => [k, defaults[k], flat[k]]);
}

export interface BuiltReport {
  files: Record<string, string>;
  data: ReplicationData;
  calibration: CalibrationRow[];
}

/** Flattens nested params to dotted keys, sorted, for the provenance block. */
export function flattenParams(params: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flattenParams(value as Record<string, unknown>, dotted));
    else out[dotted] = value;
  }
  return out;
}

function datasetBanner(data: ReplicationData): { tone: 'warning' | 'info'; text: string } {
  const d = data.dataset;
  const detail = [d.description, d.seed !== null ? `seed ${d.seed}` : null].filter(Boolean).join(', ');
  if (d.synthetic === true) {
    return { tone: 'warning', text: `Dataset: SYNTHETIC${detail ? ` (${detail})` : ''}. These numbers come from a calibrated synthetic replica, not from the paper's data; they are expected to differ from the paper's published values.` };
  }
  if (d.synthetic === false) return { tone: 'info', text: `Dataset: REAL data${detail ? ` (${detail})` : ''}.` };
  return { tone: 'warning', text: `Dataset: NOT IDENTIFIED — the ingest report does not say whether the data are synthetic or real${detail ? ` (${detail})` : ''}.` };
}

const show = (v: unknown) => (v === undefined ? '(not in pipeline.yaml)' : typeof v === 'string' ? v : JSON.stringify(v));

function facts(data: ReplicationData, params: Record<string, unknown>, identity: RunIdentity): HtmlFact[] {
  const years = [...new Set(data.panel.map((r) => r.year))].sort((a, b) => a - b);
  const converged = data.models.filter((m) => m.converged !== false);
  const nearFlat = converged.filter((m) => m.nearFlat);
  const out: HtmlFact[] = [
    { label: 'Dataset', value: data.dataset.synthetic === true ? 'synthetic' : data.dataset.synthetic === false ? 'real' : 'not identified' },
  ];
  if (identity.rawFiles && identity.rawFiles.length > 0) {
    out.push({ label: 'Dataset files (SHA-256)', value: identity.rawFiles.map((f) => `${f.path} ${f.sha256.slice(0, 16)}… (${f.bytes} bytes)`).join('; ') });
  }
  if (identity.defaults) {
    const changed = paramOverrides(params, identity.defaults);
    out.push({
      label: 'Parameters changed from pipeline.yaml',
      value: changed.length === 0 ? 'none: every parameter has its pipeline.yaml value' : changed.map(([k, was, now]) => `${k} = ${show(now)} (pipeline.yaml: ${show(was)})`).join('; '),
    });
  }
  out.push(
    { label: 'Regions × years', value: `${data.regions.length} regions, ${years[0]}–${years[years.length - 1]} (${data.panel.length} region-years)` },
    { label: 'Leading regions', value: `${data.leading.length} (${data.leading.map((code) => data.regions.find((r) => r.code === code)?.name ?? code).join(', ')})${data.classification.criterion ? `, by ${data.classification.criterion}` : ''}${data.classification.threshold !== null ? `, threshold ${data.classification.threshold}` : ''}` },
    { label: 'Estimation rows', value: String(data.design.length) },
    {
      label: 'Models',
      // the near-flat count is shown whenever the fits carry the check (0 included), so a reader knows it was made
      value: `${data.models.length} fitted, ${converged.length} converged` +
        (nearFlat.length > 0 ? `, ${nearFlat.length} near-flat (model${nearFlat.length > 1 ? 's' : ''} ${nearFlat.map((m) => m.name).join(', ')}: see the notes of Table 4)` : data.models.some((m) => m.identification !== null) ? ', 0 near-flat' : ''),
    },
  );
  if (Array.isArray(data.outliers)) {
    const drops = data.outliers as { year?: number; applicant?: string; filings?: number; share?: number }[];
    const text = drops.map((o) => `${o.filings} nano filings of "${o.applicant}" in ${o.year}${typeof o.share === 'number' ? ` (${(100 * o.share).toFixed(0)}% of the national total)` : ''}`);
    out.push({ label: 'Outliers dropped by ingest', value: text.length > 0 ? text.join('; ') : 'none' });
  }
  if (data.publicationRecords !== null) out.push({ label: 'Publication records', value: String(data.publicationRecords) });
  return out;
}

/** What the page is, where its files are, how to re-run it: for a reader, not a developer. */
function about(data: ReplicationData): string[] {
  return [
    'This page replicates the empirical part of a study of what drove nanotechnology patenting in 30 Chinese regions, 2000-2010 (state funding versus knowledge spillovers through co-authorship and geographic proximity), computed from the data in data/raw/ by the spillway pipeline (pipeline.yaml). Every table shows this run\'s numbers with the paper\'s published numbers beneath them.'
      + (data.dataset.synthetic === true ? ' The data are synthetic (see the banner above), so the numbers are expected to differ from the paper\'s.' : ''),
    'Files: this page is report/index.html; each table is also in report/tables/ as Markdown, LaTeX (booktabs) and CSV, each figure in report/figures/ as SVG with its Vega-Lite spec, and the calibration rows in report/calibration.json.',
    'To re-run: `npm ci && npm run pipeline` in the project directory (only stages whose code, data or parameters changed run again). To change an assumption for one run: `./bin/spillway.js run --set classify.criterion=nano_patents`; the changed parameters are then listed below.',
  ];
}

function tableFiles(table: Table, files: Record<string, string>): string[] {
  const names = [`tables/${table.id}.md`, `tables/${table.id}.tex`, `tables/${table.id}.csv`];
  files[names[0]] = tableToMarkdown(table);
  files[names[1]] = tableToLatex(table);
  files[names[2]] = tableToCsv(table);
  return names;
}

export async function buildReplicationReport(artifacts: ReplicationArtifacts, published: Published, params: Record<string, unknown>, hints: DatasetHints = {}, identity: RunIdentity = {}, robustness?: RobustnessInput): Promise<BuiltReport> {
  const variables = published.table3_variables;
  const data = readReplicationData(artifacts, variables, hints);
  const files: Record<string, string> = {};
  const sections: HtmlSection[] = [];
  const labels = labelsFor(data);

  const pairs: [Table, Table, string][] = [
    [table1(data), publishedTable1(published), 'Group totals of nano patent applications and their compound growth.'],
    [table2(data), publishedTable2(published), 'Share of nano publications written with foreign or other-region co-authors.'],
    [table3(data, variables, labels), publishedTable3(published, labels), 'Moments and correlations of the estimation variables, full sample and by group.'],
    [table4(data, variables, labels), publishedTable4(published, labels), 'The nine fixed-effects negative binomial models (HHG), all regions, leading and lagging.'],
  ];
  for (const [computed, pub, intro] of pairs) {
    sections.push({ kind: 'table', id: computed.id, heading: captionText(computed), intro, computed, published: pub, downloads: tableFiles(computed, files) });
  }
  const companion = table4Companion(data, variables, labels);
  if (companion !== null) {
    sections.push({
      kind: 'table',
      id: companion.id,
      heading: captionText(companion),
      intro: 'Does the conclusion depend on the estimator? Each model of Table 4 under the HHG conditional negative binomial (the paper\'s), the conditional fixed-effects Poisson and an unconditional negative binomial (NB2) with region dummies; the three estimates of a coefficient are in consecutive rows.',
      computed: companion,
      published: null,
      publishedNote: 'The paper reports only the HHG estimates (Table 4).',
      downloads: tableFiles(companion, files),
    });
  }

  const figures = [
    { id: 'figure3', heading: 'Figure 3: Coefficient of variation of regional nano publications and patents', spec: figure3Spec(data, published), published: figure3PublishedNote(published) },
    { id: 'figure4', heading: 'Figure 4: Nano patent applications and nano funding, leading vs lagging regions', spec: figure4Spec(data), published: figure4PublishedNote() },
  ];
  for (const f of figures) {
    const svg = await renderVegaLiteToSvg(f.spec, { id: f.id });
    files[`figures/${f.id}.svg`] = svg;
    files[`figures/${f.id}.vl.json`] = JSON.stringify(f.spec, null, 2) + '\n';
    sections.push({ kind: 'figure', id: f.id, heading: f.heading, svg, published: f.published, downloads: [`figures/${f.id}.svg`, `figures/${f.id}.vl.json`] });
  }

  if (robustness !== undefined) sections.push(...(await robustnessSections(robustness, artifacts.models, params, files)));

  const recovery = recoveryTable(data, variables, labels);
  if (recovery !== null) {
    const full = publishedTable4(published, labels);
    const named = truthModels(data.truth).map((t) => full.columns.indexOf(`(${t.paper_model})`)).filter((i) => i >= 0);
    const paperModels = { ...selectColumns(full, named, 'recovery-published'), title: 'Paper\'s estimates of these models (Table 4)' };
    sections.push({
      kind: 'table',
      id: recovery.id,
      heading: captionText(recovery),
      compare: 'separate',
      intro: 'The dataset is synthetic with a known truth: the true coefficients (the paper\'s estimates of the models named) beside this run\'s estimates.',
      computed: recovery,
      published: paperModels,
      publishedNote: 'The generator took its true coefficients from these published estimates.',
      downloads: tableFiles(recovery, files),
    });
  }

  const calibration = calibrationRows(data, published, variables);
  const calTable = calibrationTable(calibration);
  sections.push({
    kind: 'table',
    id: 'calibration',
    heading: captionText(calTable),
    intro: 'The published figures a dataset should reproduce, computed from this run, each with the paper\'s value, the tolerance and whether it is met.',
    computed: calTable,
    publishedNote: 'The paper\'s values are in the "Paper" column (from data/paper/published.json).',
    downloads: tableFiles(calTable, files),
  });
  files['calibration.json'] = JSON.stringify({ dataset: data.dataset, rows: calibration }, null, 2) + '\n';

  files['index.html'] = renderHtmlReport({
    title: 'Replication report: nanotechnology development in Chinese regions',
    banner: datasetBanner(data),
    about: about(data),
    facts: facts(data, params, identity),
    provenance: flattenParams(params),
    sections,
    footer: 'Published values: data/paper/published.json (transcribed from the paper; shown for comparison, never used in a computation). The run\'s full provenance (code, data and artifact hashes) is in pipeline.lock; `./bin/spillway.js lineage report/index.html` prints what this page was made from, and `./bin/spillway.js export DIR` writes a self-contained replication package.',
  });
  return { files, data, calibration };
}

/** The robustness section: specification curves and the agreement table, or why there are none and what to run. */
async function robustnessSections(input: RobustnessInput, models: unknown, params: Record<string, unknown>, files: Record<string, string>): Promise<HtmlSection[]> {
  const heading = 'Robustness: specification curves over the paper\'s alternative choices';
  const summary = input.summary === null ? null : readSummary(input.summary, input.path);
  const state = robustnessState(summary, models, flattenParams(params));
  if (state.kind === 'absent') {
    return [{
      kind: 'text', id: 'robustness', heading, tone: 'info',
      paragraphs: [
        `Not computed yet: ${input.path} does not exist. The paper's robustness checks (footnote 12's leading-region criteria, the share of leading regions, the spatial weights of eq. 3-5, the distance decay and the lag: 216 specifications, each with the nine models of Table 4) are a sweep, which a default run does not start.`,
        `To show them here, run ${ROBUSTNESS_COMMANDS}. This section then shows a specification curve for each coefficient of interest and how often it keeps the sign and significance of Table 4.`,
      ],
    }];
  }
  if (state.kind === 'stale') {
    return [{
      kind: 'text', id: 'robustness', heading, tone: 'warning',
      paragraphs: [
        `STALE: the sweep summary ${input.path} (sweep "${state.summary.sweep}", ${state.summary.variants.length} variants) does not describe this report's computation, so none of its numbers are shown: ${state.reasons.join('; ')}.`,
        `To bring it up to date, run ${ROBUSTNESS_COMMANDS}.`,
      ],
    }];
  }
  const s = state.summary;
  const curves = robustnessCurves(s);
  const failed = s.variants.filter((v) => v.status !== 'ok').length;
  const sections: HtmlSection[] = [{
    kind: 'text', id: 'robustness', heading,
    paragraphs: [
      `Every specification of sweep "${s.sweep}"${s.sweepFile ? ` (${s.sweepFile.path}, SHA-256 ${s.sweepFile.sha256.slice(0, 16)}…)` : ''}: ${Object.entries(s.grid).map(([k, v]) => `${k} ∈ {${v.map((x) => (typeof x === 'number' && !Number.isInteger(x) ? String(Number(x.toFixed(3))) : String(x))).join(', ')}}`).join(' × ')}, ${s.variants.length} variants${failed > 0 ? `, of which ${failed} failed or did not run (counted in the table, not drawn)` : ''}. Its default variant ${state.defaultVariant.id} has exactly the models of Table 4 (same content hash), so the curves and the table below are of this run's data and code.`,
      'In each figure, for each sample: every variant\'s estimate with its 95% interval (estimate ± 1.96 SE), sorted; below it one row per choice, with a mark where the variant used that choice. Near-flat likelihoods (orange triangles) and fits that did not converge (crosses) are drawn with their own marks; the dashed blue line and diamond mark pipeline.yaml\'s specification (Table 4).',
    ],
  }];
  for (const c of COEFFICIENTS) {
    const mine = curves.filter((cv) => cv.coefficient === c);
    const spec = specCurveSpec(s, c, mine);
    const id = `robustness-${c.id}`;
    const svg = await renderVegaLiteToSvg(spec, { id });
    files[`figures/${id}.svg`] = svg;
    files[`figures/${id}.vl.json`] = JSON.stringify(spec, null, 2) + '\n';
    sections.push({ kind: 'figure', id, heading: `Specification curve: ${c.label}`, svg, alt: specCurveAlt(c, mine), downloads: [`figures/${id}.svg`, `figures/${id}.vl.json`] });
  }
  const table = robustnessTable(s, curves);
  sections.push({
    kind: 'table', id: table.id, heading: captionText(table),
    intro: 'How often each coefficient of interest keeps the sign, and the sign and 5% significance, of the default specification (Table 4) across the sweep.',
    computed: table, published: null,
    publishedNote: 'The paper says its robustness checks are "available upon request"; it publishes none.',
    downloads: tableFiles(table, files),
  });
  return sections;
}
