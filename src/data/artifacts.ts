// TypeScript shapes of the replication's JSON artifacts (the schemas in schemas/*.schema.json are the authority;
// docs/artifacts.md explains every field). Shared by the stages, the report and the synthetic-data tests.
import type { CsvReadSummary } from './csv.js';
import type { FitResult, CountModel } from '../stats/count/types.js';

export interface RegionInfo {
  code: string;
  name: string;
  capital: string;
  lat: number;
  lon: number;
}

export interface PanelRow {
  region: string;
  year: number;
  /** nano patent applications (title matches ingest.nano_pattern), outlier applicants removed */
  nano_patents: number;
  /** nano filings removed by the outlier rule in this region-year */
  nano_patents_outlier: number;
  /** patents_total − all nano filings (outlier filings included: they are nano) */
  nonnano_patents: number;
  patents_total: number;
  /** PUB_it: nano publications with an address in the region */
  nano_publications: number;
  /** nano publications of the region that list another Chinese region (Table 2, national) */
  interregional_publications: number;
  /** Σ_k PUB_ikt over the declared foreign partners (eq. 8 numerator; a paper with two partners counts twice) */
  foreign_copublications: number;
  /** all scientific publications, every field (region_year.csv) */
  total_publications: number;
  /** F_it: nano funding, 10,000 yuan (万元) */
  nano_funding: number;
  /** 100 million yuan (亿元) */
  gdp: number;
  /** 10,000 persons (万人) */
  population: number;
  /** 100 million yuan (亿元) */
  rd_expenditure: number;
}

export interface PanelArtifact {
  regions: RegionInfo[];
  years: number[];
  rows: PanelRow[];
}

export interface CollaborationArtifact {
  regions: string[];
  years: number[];
  partners: string[];
  /** PUB_ijt, sparse: only pairs with count > 0; region_a precedes region_b in `regions` order */
  copublications: { year: number; region_a: string; region_b: string; count: number }[];
  /** PUB_ikt, sparse: only count > 0 */
  foreign_copublications: { year: number; region: string; partner: string; count: number }[];
}

export interface OutlierDrop {
  year: number;
  applicant: string;
  filings: number;
  national_total: number;
  share: number;
  by_region: Record<string, number>;
}

export interface IngestReport {
  years: [number, number];
  files: (CsvReadSummary & { rows_outside_years: number; rows_excluded_regions: number })[];
  patents: {
    rows_used: number;
    nano_matched: number;
    non_matching_titles: number;
    outlier_filings_dropped: number;
    nano_kept: number;
  };
  outliers: OutlierDrop[];
  publications: {
    rows_used: number;
    interregional: number;
    partner_mentions: number;
    /** mentions of excluded regions removed from papers that also list a kept region */
    excluded_region_mentions: number;
    other_partners: Record<string, number>;
  };
  funding: { rows_used: number; total_amount: number };
  /** what ingest could do without but the user must know (a raw file with no usable row); also in its log */
  warnings?: string[];
}

export type Criterion = 'total_publications' | 'nano_publications' | 'nano_patents' | 'total_patents';

export interface GroupsArtifact {
  criterion: Criterion;
  top_share: number;
  period: [number, number];
  n_regions: number;
  /** ceil(top_share × n_regions): the number of leading places */
  n_leading_target: number;
  /** the criterion value of the last leading place; every region at or above it is leading */
  threshold: number;
  leading: string[];
  lagging: string[];
  ranking: { region: string; name: string; value: number; rank: number; group: 'leading' | 'lagging' }[];
  ties: { value: number; regions: string[]; at_threshold: boolean }[];
}

export type SpatialStandardization = 'eq3' | 'eq4' | 'eq5';

export interface WeightsArtifact {
  regions: string[];
  years: number[];
  spatial: {
    decay: number;
    standardization: SpatialStandardization;
    description: string;
    distance_km: number[][];
    mean_distance_km: number;
    matrix: number[][];
  };
  collaboration: { year: number; matrix: number[][] }[];
}

export interface SpilloverRow {
  region: string;
  year: number;
  techspill_collab: number;
  techspill_spatial: number;
  fundspill_collab: number;
  fundspill_spatial: number;
  intl_collab_intensity: number;
  national_collab_intensity: number;
}

export interface SpilloversArtifact {
  regions: string[];
  years: number[];
  rows: SpilloverRow[];
}

export const DESIGN_VARIABLES = [
  'nano_funding_log',
  'techspill_collab_log',
  'techspill_spatial_log',
  'fundspill_collab_log',
  'fundspill_spatial_log',
  'intl_collab_intensity',
  'rd_gdp',
  'nonnano_patents_per_rd',
  'gdp_per_capita',
] as const;
export type DesignVariable = (typeof DESIGN_VARIABLES)[number];

export type DesignRow = { region: string; year: number; group: 'leading' | 'lagging'; nano_patents: number } & Record<DesignVariable, number>;

export interface DesignArtifact {
  lag_years: number;
  estimation_years: [number, number];
  criterion: Criterion;
  leading: string[];
  variables: { name: DesignVariable; label: string; transform: 'log1p' | 'none'; unit: string; source: string }[];
  rows: DesignRow[];
  excluded: { region: string; year: number; reason: string }[];
}

export type Sample = 'all' | 'leading' | 'lagging';

export interface ModelSpec {
  name: string;
  sample: Sample;
  regressors: DesignVariable[];
}

export interface ModelsArtifact {
  estimator: CountModel;
  year_dummies: boolean;
  add_constant: boolean;
  models: (ModelSpec & { n: number; regions: number; years: [number, number]; fit: FitResult | null; error: string | null })[];
  /** Table 4's companion: each model under the conditional FE Poisson and NB2 with region dummies (fits without vcov) */
  companions?: {
    estimators: ['fe-poisson', 'nb2-region-dummies'];
    models: { name: string; fe_poisson: CompanionFit; nb2_region_dummies: CompanionFit }[];
  };
}

export interface CompanionFit {
  fit: Omit<FitResult, 'vcov'> | null;
  error: string | null;
}
