// The replication's artifacts as the report reads them (docs/artifacts.md describes the producing side).
// Parsing is tolerant of container shape (array or { rows: [...] }) but strict about the fields the report
// uses: a missing or non-numeric field is a SpillwayError with the artifact name and a JSON pointer.
import { SpillwayError } from '../../errors.js';

export interface RegionInfo {
  code: string;
  name: string;
  lat: number;
  lon: number;
}

export interface PanelRow {
  region: string;
  year: number;
  nano_patents: number;
  nano_publications: number;
  nano_funding: number;
  [field: string]: unknown;
}

export interface IntensityRow {
  region: string;
  year: number;
  intl_collab_intensity: number;
  national_collab_intensity: number;
}

export interface DesignRow {
  region: string;
  year: number;
  values: Record<string, number>;
}

export interface ModelFit {
  name: string;
  sample: string;
  regressors: string[];
  coef: Record<string, number>;
  se: Record<string, number>;
  p: Record<string, number>;
  n: number | null;
  groups: number | null;
  converged: boolean | null;
  loglik: number | null;
  warnings: string[];
  /** hhg-fenb: the maximum is barely above the conditional FE Poisson limit (the fit's identification block) */
  nearFlat: boolean;
  /** the fit's identification block, when it has one: 2Δlog L to the FE Poisson limit, se(_cons), implied overdispersion */
  identification: { lr: number | null; constantSe: number | null; overdispersion: number | null } | null;
  /** ancillary parameters (nb2: alpha) */
  ancillary: Record<string, number>;
}

/** Table 4's companion fits of one model (null when the artifact has no companions or the fit failed) */
export interface CompanionModels {
  name: string;
  fePoisson: ModelFit | null;
  nb2: ModelFit | null;
}

export interface VariableInfo {
  name: string;
  label: string;
  unit: string | null;
}

export interface DatasetInfo {
  /** true = synthetic replica, false = real data, null = the artifacts do not say */
  synthetic: boolean | null;
  /** free text from the artifacts (e.g. "synthetic replica, seed 20140101") */
  description: string | null;
  seed: number | null;
}

export interface ReplicationData {
  regions: RegionInfo[];
  panel: PanelRow[];
  leading: string[];
  lagging: string[];
  classification: { criterion: string | null; threshold: number | null; ties: unknown };
  intensities: IntensityRow[];
  design: DesignRow[];
  /** the design's variables with the labels and units the lag stage gives them (empty when it gives none) */
  variables: VariableInfo[];
  models: ModelFit[];
  /** the models under the conditional FE Poisson and NB2 with region dummies, when estimate wrote them */
  companions: CompanionModels[] | null;
  dataset: DatasetInfo;
  /** distinct publication records read by ingest, when its report gives them */
  publicationRecords: number | null;
  /** what ingest dropped as outliers, as reported */
  outliers: unknown;
  /** data/raw/truth.json of a synthetic dataset, as parsed (null otherwise) */
  truth: unknown;
  ingestReport: Record<string, unknown>;
}

type Json = unknown;

function fail(artifact: string, pointer: string, message: string, expected: string): never {
  throw new SpillwayError('stageFailed', `report: artifact "${artifact}" ${message}`, {
    pointer,
    expected,
    hint: 'the report reads the replication artifacts described in docs/artifacts.md; re-run the upstream stage or check its schema',
    context: { artifact },
  });
}

function isObject(value: Json): value is Record<string, Json> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The array of records of an artifact: the artifact itself, or its first array-valued key among `keys`. */
function recordsOf(artifact: string, value: Json, keys: string[]): { rows: Record<string, Json>[]; pointer: string } {
  if (Array.isArray(value)) return { rows: value as Record<string, Json>[], pointer: '' };
  if (isObject(value)) {
    for (const key of keys) {
      if (Array.isArray(value[key])) return { rows: value[key] as Record<string, Json>[], pointer: `/${key}` };
    }
  }
  return fail(artifact, '', `has no list of records`, `an array, or an object with one of: ${keys.join(', ')}`);
}

function num(artifact: string, pointer: string, value: Json): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(artifact, pointer, `has ${JSON.stringify(value)} where a number belongs`, 'a finite number');
  return value;
}

function str(artifact: string, pointer: string, value: Json): string {
  if (typeof value !== 'string') fail(artifact, pointer, `has ${JSON.stringify(value)} where a string belongs`, 'a string');
  return value;
}

function numOrNull(value: Json): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function regionCode(artifact: string, pointer: string, row: Record<string, Json>): string {
  return str(artifact, `${pointer}/region`, row.region ?? row.code);
}

function parseRegions(panel: Json): RegionInfo[] {
  const list = isObject(panel) ? panel.regions : undefined;
  if (!Array.isArray(list)) fail('panel', '/regions', 'has no region list', 'regions: [{ code, name, lat, lon }, …]');
  return list.map((r, i) => {
    if (!isObject(r)) fail('panel', `/regions/${i}`, 'has a region that is not an object', '{ code, name, lat, lon }');
    return {
      code: str('panel', `/regions/${i}/code`, r.code),
      name: typeof r.name === 'string' ? r.name : str('panel', `/regions/${i}/code`, r.code),
      lat: num('panel', `/regions/${i}/lat`, r.lat),
      lon: num('panel', `/regions/${i}/lon`, r.lon),
    };
  });
}

function parsePanel(panel: Json): PanelRow[] {
  const { rows, pointer } = recordsOf('panel', panel, ['rows', 'observations', 'region_years', 'panel']);
  return rows.map((row, i) => {
    const p = `${pointer}/${i}`;
    return {
      ...row,
      region: regionCode('panel', p, row),
      year: num('panel', `${p}/year`, row.year),
      nano_patents: num('panel', `${p}/nano_patents`, row.nano_patents),
      nano_publications: num('panel', `${p}/nano_publications`, row.nano_publications),
      nano_funding: num('panel', `${p}/nano_funding`, row.nano_funding),
    };
  });
}

function regionList(artifact: string, pointer: string, value: Json): string[] {
  if (!Array.isArray(value)) fail(artifact, pointer, 'has no region list here', 'an array of region codes');
  return value.map((v, i) => (isObject(v) ? regionCode(artifact, `${pointer}/${i}`, v) : str(artifact, `${pointer}/${i}`, v)));
}

function parseGroups(groups: Json, allRegions: string[]): Pick<ReplicationData, 'leading' | 'lagging' | 'classification'> {
  if (!isObject(groups)) fail('groups', '', 'is not an object', '{ leading: [...], lagging: [...] }');
  const leading = regionList('groups', '/leading', groups.leading);
  const lagging = Array.isArray(groups.lagging) ? regionList('groups', '/lagging', groups.lagging) : allRegions.filter((r) => !leading.includes(r));
  return {
    leading,
    lagging,
    classification: {
      criterion: typeof groups.criterion === 'string' ? groups.criterion : null,
      threshold: numOrNull(groups.threshold ?? groups.threshold_value),
      ties: groups.ties ?? null,
    },
  };
}

function parseIntensities(spillovers: Json): IntensityRow[] {
  const { rows, pointer } = recordsOf('spillovers', spillovers, ['rows', 'observations', 'region_years', 'spillovers']);
  return rows.map((row, i) => {
    const p = `${pointer}/${i}`;
    return {
      region: regionCode('spillovers', p, row),
      year: num('spillovers', `${p}/year`, row.year),
      intl_collab_intensity: num('spillovers', `${p}/intl_collab_intensity`, row.intl_collab_intensity),
      national_collab_intensity: num('spillovers', `${p}/national_collab_intensity`, row.national_collab_intensity),
    };
  });
}

function parseDesign(design: Json, variables: string[]): DesignRow[] {
  const { rows, pointer } = recordsOf('design', design, ['rows', 'observations', 'design']);
  return rows.map((row, i) => {
    const p = `${pointer}/${i}`;
    const source = isObject(row.values) ? row.values : isObject(row.regressors) ? { ...row, ...row.regressors } : row;
    const values: Record<string, number> = {};
    for (const v of variables) if (source[v] !== undefined && source[v] !== null) values[v] = num('design', `${p}/${v}`, source[v]);
    if (row.nano_patents !== undefined) values.nano_patents = num('design', `${p}/nano_patents`, row.nano_patents);
    return { region: regionCode('design', p, row), year: num('design', `${p}/year`, row.year), values };
  });
}

function parseVariables(design: Json): VariableInfo[] {
  const list = isObject(design) && Array.isArray(design.variables) ? design.variables : [];
  return list.filter(isObject).filter((v) => typeof v.name === 'string').map((v) => ({
    name: v.name as string,
    label: typeof v.label === 'string' ? v.label : (v.name as string),
    unit: typeof v.unit === 'string' ? v.unit : null,
  }));
}

function numberRecord(value: Json): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObject(value)) for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out[k] = v;
  return out;
}

function parseFit(m: Record<string, Json>, spec: Record<string, Json>, i: number, pointer: string, sample: string): ModelFit {
  // a model the estimator could not fit has fit: null and an error; it shows as an empty column
  const fit = isObject(m.fit) ? m.fit : {};
  const regressors = Array.isArray(spec.regressors) ? spec.regressors.map(String) : Object.keys(numberRecord(fit.coef));
  const warnings = Array.isArray(fit.warnings) ? fit.warnings.map(String) : [];
  if (typeof m.error === 'string') warnings.push(m.error);
  const id = isObject(fit.identification) ? fit.identification : null;
  return {
    name: String(spec.name ?? m.name ?? i + 1),
    sample,
    regressors,
    coef: numberRecord(fit.coef),
    se: numberRecord(fit.se),
    p: numberRecord(fit.p),
    n: numOrNull(fit.n ?? m.n),
    groups: numOrNull(fit.groups ?? m.regions),
    converged: typeof fit.converged === 'boolean' ? fit.converged : isObject(m.fit) ? null : false,
    loglik: numOrNull(fit.loglik),
    warnings,
    nearFlat: id?.near_flat === true,
    // a null constant_se with the curvature indicator set means "no finite SE" (JSON has no Infinity)
    identification: id === null ? null : {
      lr: numOrNull(id.lr_vs_fe_poisson),
      constantSe: numOrNull(id.constant_se) ?? (isObject(id.indicators) && id.indicators.curvature === true ? Infinity : null),
      overdispersion: numOrNull(id.implied_overdispersion),
    },
    ancillary: numberRecord(fit.ancillary),
  };
}

function parseModels(models: Json): ModelFit[] {
  const { rows, pointer } = recordsOf('models', models, ['models', 'fits']);
  return rows.map((m, i) => {
    const p = `${pointer}/${i}`;
    const spec = isObject(m.spec) ? m.spec : m;
    return parseFit(m, spec, i, p, str('models', `${p}/sample`, spec.sample ?? m.sample));
  });
}

function parseCompanions(models: Json, fits: ModelFit[]): CompanionModels[] | null {
  const companions = isObject(models) && isObject(models.companions) ? models.companions : null;
  if (companions === null || !Array.isArray(companions.models)) return null;
  return companions.models.filter(isObject).map((c, i) => {
    const name = str('models', `/companions/models/${i}/name`, c.name);
    const main = fits.find((f) => f.name === name);
    const one = (key: string): ModelFit | null => {
      const entry = c[key];
      if (!isObject(entry) || !isObject(entry.fit)) return null;
      return parseFit(entry, { name, regressors: main?.regressors ?? null }, i, `/companions/models/${i}/${key}`, main?.sample ?? 'all');
    };
    return { name, fePoisson: one('fe_poisson'), nb2: one('nb2_region_dummies') };
  });
}

/** What the data directory says about itself: its truth.json (written only by the synthetic generator) and README. */
export interface DatasetHints {
  /** parsed data/raw/truth.json when it exists */
  truth?: unknown;
  /** text of data/raw/README.md when it exists */
  readme?: string;
}

/**
 * Dataset identity, in order of evidence: a truth.json beside the data means synthetic (only the generator writes
 * one); else a `dataset: { synthetic }` (or top-level `synthetic`) flag in the ingest report; else a data README
 * that calls itself SYNTHETIC; else unknown (null) — the report never claims "real" without a statement saying so.
 */
function parseDataset(report: Record<string, Json>, hints: DatasetHints): DatasetInfo {
  const truth = isObject(hints.truth) ? hints.truth : null;
  const d = isObject(report.dataset) ? report.dataset : report;
  const flag = typeof d.synthetic === 'boolean' ? d.synthetic : null;
  const description = typeof d.description === 'string' ? d.description : typeof report.dataset === 'string' ? report.dataset : null;
  const seed = numOrNull(truth?.seed ?? d.seed);
  if (truth !== null) {
    const generator = typeof truth.generator === 'string' ? `generated by ${truth.generator}` : 'synthetic replica';
    const scale = numOrNull(truth.scale);
    return { synthetic: true, description: description ?? `${generator}${scale !== null && scale !== 1 ? `, scale ${scale}` : ''}; known truth in data/raw/truth.json`, seed };
  }
  if (flag !== null) return { synthetic: flag, description, seed };
  // a heading that says SYNTHETIC (the generator's README: "# data/raw — SYNTHETIC default dataset")
  if (hints.readme !== undefined && /^#.*\bSYNTHETIC\b/m.test(hints.readme)) return { synthetic: true, description: description ?? 'labelled synthetic in data/raw/README.md', seed };
  return { synthetic: null, description, seed };
}

/** Distinct publication records used by ingest (its report's publications.rows_used), when present. */
function parsePublicationRecords(report: Record<string, Json>): number | null {
  const pubs = report.publications;
  if (isObject(pubs)) return numOrNull(pubs.rows_used ?? pubs.records);
  return numOrNull(pubs);
}

export interface ReplicationArtifacts {
  panel: Json;
  ingest_report?: Json;
  groups: Json;
  spillovers: Json;
  design: Json;
  models: Json;
}

export function readReplicationData(artifacts: ReplicationArtifacts, variables: string[], hints: DatasetHints = {}): ReplicationData {
  const regions = parseRegions(artifacts.panel);
  const report = isObject(artifacts.ingest_report) ? artifacts.ingest_report : {};
  const models = parseModels(artifacts.models);
  return {
    regions,
    panel: parsePanel(artifacts.panel),
    ...parseGroups(artifacts.groups, regions.map((r) => r.code)),
    intensities: parseIntensities(artifacts.spillovers),
    design: parseDesign(artifacts.design, variables),
    variables: parseVariables(artifacts.design),
    models,
    companions: parseCompanions(artifacts.models, models),
    dataset: parseDataset(report, hints),
    truth: hints.truth ?? null,
    publicationRecords: parsePublicationRecords(report),
    outliers: report.outliers ?? null,
    ingestReport: report,
  };
}
