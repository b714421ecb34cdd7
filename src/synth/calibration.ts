// Calibration constants of the synthetic default dataset. Every number here is a modelling choice aimed at a figure the
// paper publishes (data/paper/published.json, a copy of the paper's tables); the generator never reads those figures at
// run time. Each constant names the published figure it aims at. Magnitudes that the paper does not publish (population,
// region-level R&D, all-field publications) are plausible synthetic values, labelled synthetic in data/raw/README.md.

export const FIRST_YEAR = 1999;
export const LAST_YEAR = 2010;
export const YEARS: readonly number[] = Array.from({ length: LAST_YEAR - FIRST_YEAR + 1 }, (_, k) => FIRST_YEAR + k);
/** The HHG model's base year: the first estimation year (regressors from 1999), whose year dummy is omitted. */
export const BASE_YEAR = 2000;

/** The paper's 8 scientifically leading regions (section 4.2, footnote 10). */
export const LEADING = ['CN-BJ', 'CN-SH', 'CN-JS', 'CN-ZJ', 'CN-SD', 'CN-JL', 'CN-GD', 'CN-HB'] as const;

/** Table 4 of the paper: the true coefficients. Leading regions follow model 5, lagging regions model 8. */
export const TRUE_COEFFICIENTS = {
  leading: {
    model: '5',
    constant: 2.149,
    beta: {
      nano_funding_log: 0.3,
      techspill_collab_log: -0.249,
      techspill_spatial_log: -0.063,
      intl_collab_intensity: -0.004,
      rd_gdp: 0.193,
      nonnano_patents_per_rd: 0.143,
      gdp_per_capita: 0.145,
    },
  },
  lagging: {
    model: '8',
    constant: 1.734,
    beta: {
      nano_funding_log: 0.017,
      techspill_collab_log: 0.418,
      techspill_spatial_log: 0.079,
      intl_collab_intensity: 0.002,
      rd_gdp: 0.041,
      nonnano_patents_per_rd: -0.093,
      gdp_per_capita: -0.04,
    },
  },
} as const;

export type Regressor = keyof (typeof TRUE_COEFFICIENTS)['leading']['beta'];
export const REGRESSORS: readonly Regressor[] = [
  'nano_funding_log',
  'techspill_collab_log',
  'techspill_spatial_log',
  'intl_collab_intensity',
  'rd_gdp',
  'nonnano_patents_per_rd',
  'gdp_per_capita',
];

/**
 * Expected nano patent applications per group and year (outlier excluded). 2000, 2005, 2010 are Table 1 exactly
 * (leading 189/1704/4419, lagging 86/692/1914); 2000–2004 follow Table 1's 1999–04 rates (55%/52% a year), 2005–2010
 * ~21%/23%, raised slightly in 2006–2009 so that 2000–2010 holds "over 30,000" applications (section 3).
 * 1999 (66/42, national 108 against the text's 98, inside ±25%) is split so that leading regions grow faster over
 * 1999–04, as Table 1 and the text say (compound growth 75% vs 62%; the paper's 55%/52% cannot be reached with its own
 * 1999 national total of 98 and its 2000–05 levels). 2001 (110/51) is low so that the 911 outlier filings are 85% of
 * that year's national total, as in the note to Figure 3: 911 / (911 + 161).
 */
export const PATENT_TARGETS: Record<'leading' | 'lagging', Record<number, number>> = {
  leading: { 1999: 66, 2000: 189, 2001: 110, 2002: 460, 2003: 750, 2004: 1080, 2005: 1704, 2006: 2300, 2007: 2900, 2008: 3450, 2009: 3950, 2010: 4419 },
  lagging: { 1999: 42, 2000: 86, 2001: 51, 2002: 210, 2003: 330, 2004: 470, 2005: 692, 2006: 930, 2007: 1200, 2008: 1480, 2009: 1720, 2010: 1914 },
};

/** The outlier of Figure 3's note: 911 applications filed in 2001 by a single Beijing applicant (85% of that year). */
export const OUTLIER = { region: 'CN-BJ', year: 2001, filings: 911, applicant: 'Individual applicant BJ-0911 (synthetic)' } as const;

/**
 * Publication records per year: 2,487 in 1999 (section 4.1), growing ~28% a year so that 1999–2010 holds about
 * 164,000 records (section 3). (The text's 22% a year is for 1999–2013; 164,000 over 1999–2010 needs faster growth.)
 */
export const PUBLICATIONS_1999 = 2487;
export const PUBLICATIONS_GROWTH = 1.2805;

/**
 * Inter-regional ("national") collaboration intensity, share of a region's papers with another Chinese region, Table 2:
 * leading 37.2% (1999–2004) → 39.0% (2005–2010), lagging 53.6% → 64.8%; linear in the year through the period means.
 * The lagging targets are set ~1 point lower than the table so that the all-region mean (47.7 → 56.8, not the
 * region-average of the two group rows) is also within reach.
 */
export const NATIONAL_INTENSITY = {
  leading: { early: 0.372, late: 0.39 },
  lagging: { early: 0.54, late: 0.64 },
};

/**
 * International collaboration intensity, Σ_k PUB_ik / PUB_i in percent (eq. 8), Table 2: leading 21.2 → 20.2,
 * lagging 17.6 → 16.2 (period means). Partners per internationally co-authored paper: 1 + Poisson(0.15).
 */
export const INTERNATIONAL_INTENSITY = {
  leading: { early: 21.2, late: 20.2 },
  lagging: { early: 17.6, late: 16.2 },
  extraPartnersMean: 0.15,
  /** log-sd of the region-level multiplier: Table 3's sd of the intensity (5.4 leading, 10.1 lagging, incl. noise) */
  regionSpread: 0.25,
};

/** The 27 foreign partners in the paper's order (section 3), drawn with Zipf weights 1/rank^1.1 (the order is by count). */
export const FOREIGN_PARTNERS = [
  'U.S.A.', 'Hong Kong', 'Japan', 'Germany', 'Australia', 'Singapore', 'England', 'South Korea', 'Canada', 'France',
  'Sweden', 'Taiwan', 'Switzerland', 'Spain', 'the Netherlands', 'Belgium', 'India', 'Russia', 'Ireland', 'Scotland',
  'Pakistan', 'Norway', 'Portugal', 'Austria', 'Malaysia', 'Brazil', 'Macao',
] as const;
export const PARTNER_ZIPF_EXPONENT = 1.1;

/** Distance scale (km) of the affinity exp(−d/scale) between co-authoring regions (the margins are fixed by the intensities). */
export const COLLABORATION_DISTANCE_KM = 1500;

/**
 * NSFC nano grants: average amount (万元) 20 in 1999 rising 5% a year; 3% are key grants of 5–10× the average.
 * Funding level per region (below) is log(expected annual funding in 万元) in 2004, plus `offset`, which balances the
 * own-funding means against the funding-spillover means (Table 3: fundspill via proximity 5.32, i.e. not above own funding); growth 0.40 a year, minus catchUp × (level − 6) so that regions with less funding catch up (CV of nano patents 1.95 → 1.34, Figure 3); AR(1) shocks.
 * Aimed at Table 3 nano funding (log): all 5.32 (sd 2.40), leading 7.12 (sd 1.28, min 4.39), lagging 4.67 (sd 2.38, min 0).
 */
export const FUNDING = { grantMean1999: 20, grantGrowth: 0.05, keyShare: 0.03, growth: 0.4, catchUp: 0.1, offset: -0.6, shockSd: 0.3, shockRho: 0.5 };

export interface RegionProfile {
  /** population (万人) 2000 and 2010: synthetic round magnitudes of the census years */
  pop: [number, number];
  /** R&D/GDP in percent, 1999 and 2010 (Table 3: all 1.08, leading 1.85, lagging 0.80, max 7.41) */
  rd: [number, number];
  /** non-nano patent applications per million yuan of R&D (Table 3: mean 1.07, sd 0.69, min 0.23) */
  patentsPerRd: number;
  /** share weights of nano publications, 1999 and 2010 (coefficient of variation 1.71 → 1.14, Figure 3) */
  nanoPubs: [number, number];
  /** share weights of nano patents within the group, 1999 and 2010 (CV 1.95 → 1.34; top 4 > 50%, section 4.2) */
  nanoPatents: [number, number];
  /** log expected nano funding (万元) in 2004 */
  funding: number;
  /** all-field publications per year in 1999, thousands (the classify criterion: the 8 leading regions are the top 8) */
  allPubs: number;
}

/** Per-region profile, keyed by ISO code (synthetic values, see above). */
export const PROFILES: Record<string, RegionProfile> = {
  'CN-BJ': { pop: [1364, 1962], rd: [4.9, 5.8], patentsPerRd: 0.45, nanoPubs: [26, 18], nanoPatents: [45, 23], funding: 7.9, allPubs: 30 },
  'CN-TJ': { pop: [1001, 1299], rd: [1.2, 2.4], patentsPerRd: 0.6, nanoPubs: [3, 3.5], nanoPatents: [14, 7], funding: 5.56, allPubs: 4.0 },
  'CN-HE': { pop: [6674, 7194], rd: [0.4, 0.8], patentsPerRd: 1.2, nanoPubs: [0.8, 1.5], nanoPatents: [3, 4], funding: 4.96, allPubs: 2.0 },
  'CN-SX': { pop: [3297, 3574], rd: [0.4, 1.1], patentsPerRd: 0.7, nanoPubs: [0.6, 1.0], nanoPatents: [2, 3], funding: 4.78, allPubs: 1.5 },
  'CN-NM': { pop: [2372, 2472], rd: [0.15, 0.55], patentsPerRd: 1.3, nanoPubs: [0.15, 0.4], nanoPatents: [0.3, 1.5], funding: 4.12, allPubs: 0.5 },
  'CN-LN': { pop: [4184, 4375], rd: [0.9, 1.6], patentsPerRd: 0.8, nanoPubs: [4, 4.2], nanoPatents: [12, 7], funding: 5.86, allPubs: 4.6 },
  'CN-JL': { pop: [2682, 2747], rd: [0.8, 1.1], patentsPerRd: 0.6, nanoPubs: [7, 4.5], nanoPatents: [5, 4], funding: 7.2, allPubs: 5.6 },
  'CN-HL': { pop: [3689, 3833], rd: [0.5, 1.0], patentsPerRd: 0.8, nanoPubs: [2, 3], nanoPatents: [6, 5], funding: 5.56, allPubs: 3.6 },
  'CN-SH': { pop: [1674, 2303], rd: [1.7, 2.8], patentsPerRd: 0.9, nanoPubs: [14, 10.5], nanoPatents: [22, 20], funding: 7.6, allPubs: 16 },
  'CN-JS': { pop: [7327, 7869], rd: [0.9, 2.1], patentsPerRd: 1.2, nanoPubs: [5, 8], nanoPatents: [8, 17], funding: 7.3, allPubs: 11 },
  'CN-ZJ': { pop: [4680, 5447], rd: [0.5, 1.8], patentsPerRd: 2.6, nanoPubs: [3, 5], nanoPatents: [5, 9], funding: 7.1, allPubs: 7.0 },
  'CN-AH': { pop: [5986, 5957], rd: [0.6, 1.3], patentsPerRd: 0.6, nanoPubs: [4, 4], nanoPatents: [6, 7], funding: 5.86, allPubs: 3.5 },
  'CN-FJ': { pop: [3410, 3693], rd: [0.5, 1.1], patentsPerRd: 1.5, nanoPubs: [1.5, 2.3], nanoPatents: [4, 6], funding: 5.38, allPubs: 2.2 },
  'CN-JX': { pop: [4149, 4462], rd: [0.4, 1.0], patentsPerRd: 0.9, nanoPubs: [0.5, 1.2], nanoPatents: [1, 3], funding: 4.72, allPubs: 1.3 },
  'CN-SD': { pop: [9079, 9588], rd: [0.6, 1.6], patentsPerRd: 1.2, nanoPubs: [2.5, 4.5], nanoPatents: [4, 7], funding: 7.0, allPubs: 6.0 },
  'CN-HA': { pop: [9256, 9405], rd: [0.4, 0.8], patentsPerRd: 1.2, nanoPubs: [0.8, 2], nanoPatents: [3, 5], funding: 5.02, allPubs: 2.2 },
  'CN-HB': { pop: [5646, 5728], rd: [0.8, 1.7], patentsPerRd: 0.6, nanoPubs: [4, 5], nanoPatents: [6, 5], funding: 7.2, allPubs: 8.0 },
  'CN-HN': { pop: [6562, 6570], rd: [0.5, 1.2], patentsPerRd: 1.0, nanoPubs: [1.5, 3], nanoPatents: [4, 6], funding: 5.38, allPubs: 3.3 },
  'CN-GD': { pop: [8650, 10441], rd: [0.8, 1.8], patentsPerRd: 1.8, nanoPubs: [3, 6], nanoPatents: [10, 15], funding: 7.2, allPubs: 7.5 },
  'CN-GX': { pop: [4751, 4610], rd: [0.3, 0.65], patentsPerRd: 1.6, nanoPubs: [0.3, 0.8], nanoPatents: [1, 2], funding: 4.48, allPubs: 1.0 },
  'CN-HI': { pop: [789, 869], rd: [0.15, 0.35], patentsPerRd: 2.5, nanoPubs: [0.05, 0.2], nanoPatents: [0.1, 0.6], funding: 3.7, allPubs: 0.3 },
  'CN-CQ': { pop: [3091, 2885], rd: [0.6, 1.3], patentsPerRd: 1.3, nanoPubs: [0.7, 1.8], nanoPatents: [2, 4], funding: 5.14, allPubs: 2.0 },
  'CN-SC': { pop: [8329, 8045], rd: [1.0, 1.5], patentsPerRd: 1.0, nanoPubs: [2, 3.5], nanoPatents: [6, 7], funding: 5.68, allPubs: 4.4 },
  'CN-GZ': { pop: [3756, 3479], rd: [0.3, 0.65], patentsPerRd: 1.5, nanoPubs: [0.15, 0.5], nanoPatents: [0.3, 1.2], funding: 4.12, allPubs: 0.6 },
  'CN-YN': { pop: [4241, 4602], rd: [0.4, 0.6], patentsPerRd: 1.3, nanoPubs: [0.4, 0.8], nanoPatents: [1, 2], funding: 4.78, allPubs: 1.0 },
  'CN-SN': { pop: [3644, 3735], rd: [2.7, 2.2], patentsPerRd: 0.35, nanoPubs: [2, 3.5], nanoPatents: [6, 7], funding: 5.68, allPubs: 4.8 },
  'CN-GS': { pop: [2557, 2560], rd: [0.8, 1.1], patentsPerRd: 0.5, nanoPubs: [1.2, 1.8], nanoPatents: [3, 3], funding: 5.38, allPubs: 1.6 },
  'CN-QH': { pop: [518, 563], rd: [0.4, 0.7], patentsPerRd: 0.8, nanoPubs: [0.05, 0.1], nanoPatents: [0.05, 0.3], funding: 3.46, allPubs: 0.2 },
  'CN-NX': { pop: [562, 633], rd: [0.4, 0.7], patentsPerRd: 0.9, nanoPubs: [0.05, 0.1], nanoPatents: [0.1, 0.4], funding: 3.46, allPubs: 0.2 },
  'CN-XJ': { pop: [1925, 2185], rd: [0.2, 0.5], patentsPerRd: 1.2, nanoPubs: [0.15, 0.4], nanoPatents: [0.3, 1.0], funding: 4.18, allPubs: 0.6 },
};

/** All-field publications grow 14% a year (synthetic); iid log-noise sd below keeps the top-8 ranking stable. */
export const ALL_PUBS_GROWTH = 0.14;
export const NOISE = { allPubs: 0.05, rd: 0.05, patentsPerRd: 0.2, population: 0.005 };

/** Share of patent-query records whose title does not contain "nano" (false positives the ingest must drop). */
export const NON_NANO_TITLE_SHARE = 0.03;
