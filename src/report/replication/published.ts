// The shape of data/paper/published.json (the paper's figures, transcribed by hand), as far as the report reads it.
import { SpillwayError } from '../../errors.js';

export interface PublishedMoments {
  mean: number[];
  sd: number[];
  min: number[];
  max: number[];
  corr_lower: number[][];
}

export interface PublishedRow {
  coef: (number | null)[];
  se: (number | null)[];
  stars: (number | null)[];
}

export interface Published {
  panel: {
    regions: number;
    observations: number;
    leading_regions: string[];
    mean_distance_between_capitals_km: number;
    /** the paper's note on the dropped 2001 applicant, e.g. "911 … (85% of the national total that year)" */
    outlier_removed?: string;
  };
  aggregates: {
    nano_patents_china_total: Record<string, number>;
    nano_publications_total_wos: number;
    top4_share_of_nano_patents_over: number;
    top4_regions: string[];
    coefficient_of_variation: Record<'nano_publications' | 'nano_patents', Record<string, number>>;
  };
  table1_patents_by_group: Record<'leading' | 'lagging', Record<string, number>>;
  table2_collaboration_intensity_percent: Record<'international' | 'national', Record<'all' | 'leading' | 'lagging', Record<'1999_2004' | '2005_2010' | 'change', number>>>;
  table3_variables: string[];
  table3_summary: Record<'all' | 'leading' | 'lagging', PublishedMoments>;
  table4_negative_binomial_fe: {
    models: Record<string, { sample: string; observations: number; regions: number }>;
    rows: Record<string, PublishedRow>;
  };
}

/** Checks the few top-level keys the report needs, so a wrong file fails with a pointer, not a TypeError. */
export function asPublished(value: unknown, file: string): Published {
  const required = ['panel', 'aggregates', 'table1_patents_by_group', 'table2_collaboration_intensity_percent', 'table3_variables', 'table3_summary', 'table4_negative_binomial_fe'];
  const obj = value as Record<string, unknown> | null;
  for (const key of required) {
    if (obj === null || typeof obj !== 'object' || !(key in obj)) {
      throw new SpillwayError('invalidInput', `published figures lack "${key}"`, {
        file,
        pointer: `/${key}`,
        expected: 'the transcription of the paper\'s tables (data/paper/published.json)',
      });
    }
  }
  return value as Published;
}
