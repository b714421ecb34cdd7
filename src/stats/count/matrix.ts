// ml-matrix, loaded with require(): its ESM entry only re-exports its CommonJS build, and importing that from ESM makes
// node parse the 150 kB file for its export names first (about 60 ms CPU of every `spillway fit`, measured with
// `node -e`); require() skips that parse. Same classes, same code.
import { createRequire } from 'node:module';
import type * as MlMatrix from 'ml-matrix';

const ml = createRequire(import.meta.url)('ml-matrix') as typeof MlMatrix;

export const { CholeskyDecomposition, Matrix, inverse } = ml;
export type Matrix = MlMatrix.Matrix;
