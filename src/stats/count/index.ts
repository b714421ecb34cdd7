// Public API of the count-panel estimators (CONTRACTS §4): fitCountModel and expandFactor.
export { fitCountModel } from './fit.js';
export { expandFactor, type ExpandedFactor } from './factor.js';
export type { CountDesign, CountModel, FitOptions, FitResult, PackedCountDesign, PackedIndicators, PackedRows } from './types.js';
