// The shared shape of the count-model estimators (hhg-fenb, fe-poisson, nb2): input design and fitted result.

export type CountModel = 'hhg-fenb' | 'fe-poisson' | 'nb2';

export interface CountDesign {
  /** outcome counts, one per observation: non-negative integers */
  y: ArrayLike<number>;
  /** regressors, row-major: X[i] is observation i's row; a constant column, if wanted, is included by the caller via `addConstant` */
  X: ArrayLike<number>[];
  /** names of the columns of X, in order */
  names: string[];
  /** group (panel id) per observation; required by hhg-fenb and fe-poisson, ignored by nb2 */
  groups?: ArrayLike<string | number>;
  /** offset per observation (log exposure), added to the linear index with coefficient 1 */
  offset?: ArrayLike<number>;
}

/** A CountDesign whose regressors are packed in one array (no array per row: for large designs). */
export type PackedCountDesign = Omit<CountDesign, 'X'> & { X: PackedRows };

/**
 * The regressors of every observation in one row-major array: observation i's value of column j is values[i · width + j],
 * optionally followed by indicator columns (a factor's levels) given by a level number per observation instead of
 * written out: names.length = width + the indicators' counts.
 */
export interface PackedRows {
  values: Float64Array;
  /** the number of columns in `values` (names.length when there are no indicators) */
  width: number;
  indicators?: PackedIndicators[];
}

/**
 * `count` indicator columns (the names after `width` and after the previous factors' ones): in observation i the column
 * codes[i] of these is 1 and the others 0; a code of -1 (a base level) sets none.
 */
export interface PackedIndicators {
  codes: ArrayLike<number>;
  count: number;
}

export interface FitOptions {
  model: CountModel;
  /** add a `_cons` column (hhg-fenb and nb2 identify it; fe-poisson drops it as collinear with the group effects) */
  addConstant?: boolean;
  maxIterations?: number;
  /** convergence: relative change in log-likelihood below this … */
  tolerance?: number;
  /** … and scaled gradient norm below this */
  gradientTolerance?: number;
  /**
   * Warm start: start values by column name (e.g. from a related fit of the same data). Columns not named start where
   * the model starts them; names that are not kept columns are ignored. fe-poisson starts there; nb2 starts its Poisson
   * start fit there; hhg-fenb starts its FE Poisson start fit there. These likelihoods are concave, so the maximum does
   * not depend on the start, only the number of iterations (the HHG one is not, and starts where its FE Poisson fit ends).
   */
  start?: Record<string, number>;
}

export interface FitResult {
  model: CountModel;
  /** coefficient by column name (dropped columns absent) */
  coef: Record<string, number>;
  se: Record<string, number>;
  z: Record<string, number>;
  p: Record<string, number>;
  ci95: Record<string, [number, number]>;
  /** ancillary parameters: nb2 has lnalpha and alpha (with se_ entries); hhg-fenb has none (its dispersion is conditioned out) */
  ancillary: Record<string, number>;
  /** covariance of the coefficients (names order), from the observed information */
  vcov: { names: string[]; matrix: number[][] };
  loglik: number;
  aic: number;
  bic: number;
  n: number;
  groups: number | null;
  dropped_groups: number;
  dropped_observations: number;
  /** collinear or no-within-variation columns, with the reason */
  dropped_columns: { name: string; reason: string }[];
  iterations: number;
  converged: boolean;
  /** final relative change in log-likelihood |Δℓ|/(1+|ℓ|), and gradient norm as the scaled gradient g'(-H)⁻¹g (Stata's nrtolerance quantity) */
  convergence: { loglik_change: number; gradient_norm: number };
  /** diagnostics such as a flat likelihood at constant = +infinity */
  warnings: string[];
  /**
   * hhg-fenb only (a converged fit): how far the maximum is from the limit at constant = +∞ (conditional FE Poisson on
   * the same rows); `near_flat` when two of the three indicators say so (docs/estimators.md, "Near-flat likelihood").
   * Infinity in constant_se means the information matrix gave no finite SE.
   */
  identification?: {
    near_flat: boolean;
    fe_poisson_loglik: number;
    /** 2(ℓ_HHG − ℓ_FE-Poisson) */
    lr_vs_fe_poisson: number;
    constant_se: number | null;
    /** ΣY / Σλ at the estimate: the implied within-group Var/E − 1 */
    implied_overdispersion: number;
    indicators: { gap: boolean; curvature: boolean | null; lambda: boolean };
    thresholds: { lr: number; constantSe: number; overdispersion: number };
  };
  /** Wald χ² that all coefficients except _cons are zero (absent when the covariance is unavailable) */
  wald?: { chi2: number; df: number };
}
