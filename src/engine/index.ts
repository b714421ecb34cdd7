// The engine's public API (CONTRACTS §2). Everything else in src/engine is internal.
export { loadPipeline, selectStages, downstreamOf, lockFileFor, ENGINE_FORMAT } from './pipeline.js';
export type { Pipeline, StageDecl, OutDecl, InputDecl, LoadOptions } from './pipeline.js';
export { runPipeline, ENGINE_VERSION } from './runner.js';
export type { RunOptions, RunReport, RunEvent, StageReport, StageRunStatus } from './runner.js';
export { stageStatus } from './status.js';
export { declaredParams, declaredDeps, declaredInputs, stageModule } from './declaration.js';
export type { DeclaredDep } from './declaration.js';
export type { Executor, StageJob, ExecutionOutcome, ExecutionPlace, StageFailure, StageResources } from './executor.js';
export type { StageStatus, StageState, StatusReport } from './status.js';
export type { StaleReason, ReasonComponent } from './fingerprint.js';
export { codeFilesOf, watchTargets, packageVersion } from './code.js';
export type { WatchTargets } from './code.js';
export { readLockfile, writeLockfile } from './lockfile.js';
export { hashFile, hashBytes, hashJson, canonicalJson, StatCache } from './hash.js';
export { objectPath, objectRelPath } from './store.js';
export { createStageContext, getDotted, setDotted, nestParams } from './stage-context.js';
export { formatDag } from './dag.js';
export type { DagFormat } from './dag.js';
