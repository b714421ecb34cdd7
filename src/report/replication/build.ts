// Assembles the replication report: every table in Markdown/LaTeX/CSV, every figure as SVG (and its Vega-Lite
// spec), the calibration comparison, and index.html. Returns file contents by relative path; writes nothing.
// Deterministic: no clock, no randomness, so the same artifacts give byte-identical files.
import { tableToCsv } from '../csv.js';
import { renderVegaLiteToSvg } from '../figure.js';
import { renderHtmlReport, type HtmlFact, type HtmlSection } from '../html.js';
import { tableToLatex } from '../latex.js';
import { tableToMarkdown } from '../markdown.js';
import { selectColumns, type Table } from '../table.js';
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
  labelsFor,
  recoveryTable,
  truthModels,
  type CalibrationRow,
} from './paper-report.js';
import type { Published } from './published.js';

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
    return { tone: 'warning', text: `Dataset: SYNTHETIC${detail ? ` (${detail})` : ''}. These numbers come from a calibrated synthetic replica, not from the paper's data; they are expected to differ from the published column.` };
  }
  if (d.synthetic === false) return { tone: 'info', text: `Dataset: REAL data${detail ? ` (${detail})` : ''}.` };
  return { tone: 'warning', text: `Dataset: NOT IDENTIFIED — the ingest report does not say whether the data are synthetic or real${detail ? ` (${detail})` : ''}.` };
}

function facts(data: ReplicationData): HtmlFact[] {
  const years = [...new Set(data.panel.map((r) => r.year))].sort((a, b) => a - b);
  const converged = data.models.filter((m) => m.converged !== false).length;
  const out: HtmlFact[] = [
    { label: 'Dataset', value: data.dataset.synthetic === true ? 'synthetic' : data.dataset.synthetic === false ? 'real' : 'not identified' },
    { label: 'Regions × years', value: `${data.regions.length} regions, ${years[0]}–${years[years.length - 1]} (${data.panel.length} region-years)` },
    { label: 'Leading regions', value: `${data.leading.length} (${data.leading.map((code) => data.regions.find((r) => r.code === code)?.name ?? code).join(', ')})${data.classification.criterion ? `, by ${data.classification.criterion}` : ''}${data.classification.threshold !== null ? `, threshold ${data.classification.threshold}` : ''}` },
    { label: 'Estimation rows', value: String(data.design.length) },
    { label: 'Models', value: `${data.models.length} fitted, ${converged} converged` },
  ];
  if (Array.isArray(data.outliers)) {
    const drops = data.outliers as { year?: number; applicant?: string; filings?: number; share?: number }[];
    const text = drops.map((o) => `${o.filings} nano filings of "${o.applicant}" in ${o.year}${typeof o.share === 'number' ? ` (${(100 * o.share).toFixed(0)}% of the national total)` : ''}`);
    out.push({ label: 'Outliers dropped by ingest', value: text.length > 0 ? text.join('; ') : 'none' });
  }
  if (data.publicationRecords !== null) out.push({ label: 'Publication records', value: String(data.publicationRecords) });
  return out;
}

function tableFiles(table: Table, files: Record<string, string>): string[] {
  const names = [`tables/${table.id}.md`, `tables/${table.id}.tex`, `tables/${table.id}.csv`];
  files[names[0]] = tableToMarkdown(table);
  files[names[1]] = tableToLatex(table);
  files[names[2]] = tableToCsv(table);
  return names;
}

export async function buildReplicationReport(artifacts: ReplicationArtifacts, published: Published, params: Record<string, unknown>, hints: DatasetHints = {}): Promise<BuiltReport> {
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
    sections.push({ kind: 'table', id: computed.id, heading: computed.title, intro, computed, published: pub, downloads: tableFiles(computed, files) });
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

  const recovery = recoveryTable(data, variables, labels);
  if (recovery !== null) {
    const full = publishedTable4(published, labels);
    const named = truthModels(data.truth).map((t) => full.columns.indexOf(`(${t.paper_model})`)).filter((i) => i >= 0);
    const paperModels = { ...selectColumns(full, named, 'recovery-published'), title: 'Paper\'s estimates of these models (Table 4)' };
    sections.push({
      kind: 'table',
      id: recovery.id,
      heading: recovery.title,
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
    heading: calTable.title,
    intro: 'The figures the dataset is calibrated to, computed from this run\'s artifacts; the paper\'s value is in its own column.',
    computed: calTable,
    published: null,
    publishedNote: 'The paper\'s values are the "Paper" column of the table beside this panel (data/paper/published.json).',
    downloads: tableFiles(calTable, files),
  });
  files['calibration.json'] = JSON.stringify({ dataset: data.dataset, rows: calibration }, null, 2) + '\n';

  files['index.html'] = renderHtmlReport({
    title: 'Replication report: nanotechnology development in Chinese regions',
    banner: datasetBanner(data),
    facts: facts(data),
    provenance: flattenParams(params),
    sections,
    footer: 'Generated by the spillway report stage from the pipeline\'s artifacts. Published values: data/paper/published.json (transcribed from the paper; for comparison only). The run\'s full provenance (code, data and artifact hashes) is in pipeline.lock.',
  });
  return { files, data, calibration };
}
