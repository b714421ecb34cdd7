// The shape of pipeline.lock: the provenance record of the last successful run of every stage.
// Written by the engine (src/engine/lockfile.ts), read by status, audit, lineage and export.
// JSON, keys in a stable order, so that a committed lockfile diffs cleanly (like dvc.lock).

/** Content hash with its algorithm, e.g. "sha256:9f86d0…". */
export type ContentHash = string;

export interface LockedFile {
  /** project-relative path with forward slashes */
  path: string;
  hash: ContentHash;
  size: number;
  /** a dep outside the project, allowed by the stage's `external_deps: true` (not in an exported package) */
  external?: boolean;
}

/** An output's schema file and the local files it refers to ("$ref", src/engine/schema-refs.ts), each with its hash. */
export interface LockedSchema {
  path: string;
  hash: ContentHash;
  /** only when it refers to other files */
  refs?: { path: string; hash: ContentHash }[];
}

export interface LockedOutput {
  /** "json" (validated against `schema`), "file" or "dir" */
  kind: 'json' | 'file' | 'dir';
  hash: ContentHash;
  size: number;
  /** where a person finds it: artifacts/out/<stage>/<name>.json, or the declared path of a file/dir out */
  path: string;
  /** content-addressed location in the store, project-relative (artifacts/objects/…) */
  object: string;
  /** schema file the output was validated against, with the schema's own hash, and the local files it refers to */
  schema?: LockedSchema;
  /** for dir outputs: every file in it */
  files?: LockedFile[];
}

export interface LockedInput {
  /** "stage.output" reference as declared */
  from: string;
  hash: ContentHash;
}

export interface LockedCode {
  /** hash over the stage's code: module + local imports, or argv + named files */
  hash: ContentHash;
  /** for module stages: the module path; for command stages: the argv */
  module?: string;
  cmd?: string[];
  /** every code file that entered the hash */
  files: LockedFile[];
  /** npm packages the code files import, name → installed version (added by the engine; absent in older lockfiles) */
  packages?: Record<string, string>;
}

export interface LockedRun {
  started: string; // ISO 8601
  ended: string; // ISO 8601
  duration_ms: number;
  engine_version: string;
  node_version: string;
  platform: string;
  /** which executor ran the stage ('local', 'workers', 'slurm'), and where (absent in older lockfiles) */
  executor?: string;
  host?: string;
  /** the scheduler's job id, for cluster executors */
  job_id?: string;
}

export interface LockedStage {
  /** the cache key: hash of engine format, code, declared param names and values, deps, inputs */
  key: ContentHash;
  code: LockedCode;
  /** declared params, dotted key → value used */
  params: Record<string, unknown>;
  deps: LockedFile[];
  inputs: Record<string, LockedInput>;
  outs: Record<string, LockedOutput>;
  run: LockedRun;
}

export interface Lockfile {
  spillway_lock: 1;
  /** the pipeline file the lock belongs to, project-relative, and its hash */
  pipeline: { path: string; hash: ContentHash };
  stages: Record<string, LockedStage>;
}
