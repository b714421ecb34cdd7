// spillway's public entry point: `import { type StageFunction, runPipeline, ... } from 'spillway'`.
// What a stage module needs (StageFunction, StageContext), the engine API for tools built on it, and the errors.
// Everything not exported here (or under `spillway/stats/*`) is internal and may change between versions.
export type { StageContext, StageFunction } from './engine/stage-api.js';
export * from './engine/index.js';
export { SpillwayError, ExitCode, isSpillwayError } from './errors.js';
export type { ErrorKind, ErrorDetails, ErrorLocation, ExitCodeValue } from './errors.js';
export type { Lockfile, LockedStage, LockedOutput, LockedFile, LockedInput, LockedCode, LockedRun, ContentHash } from './engine/lockfile-format.js';

/**
 * Identity helper that gives a stage function its type without a separate annotation:
 * `export default defineStage((ctx) => ({ summary: { n: 1 } }))`.
 */
export function defineStage<F extends import('./engine/stage-api.js').StageFunction>(fn: F): F {
  return fn;
}
