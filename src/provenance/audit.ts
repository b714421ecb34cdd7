// `spillway audit`: re-hash everything the lockfile vouches for and report where the working tree no longer matches it.
// The lockfile is the claim; audit never trusts a stat cache, it reads every byte.
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { unseal } from '../engine/hash.js';
import { runCachePath } from '../engine/store.js';
import type { LockedFile, LockedStage, Lockfile } from '../engine/lockfile-format.js';
import { dirFilePath, hashDirLike, hashFileLike, objectRelPath, readLock, resolveInProject, splitRef, type Project } from './project.js';
export { splitRef };

/**
 * - missing: a recorded artifact, store object, dep or code file is gone
 * - corrupted: an artifact's bytes differ from its recorded hash (tampering, disk corruption)
 * - stale: a recorded dep, input, param or schema differs from the working tree, so the stage would re-run
 * - code_changed: a code file of the stage differs from (or was added to / removed from) what was hashed
 * - not_run: the pipeline declares a stage the lockfile has no record of
 * - orphaned: the lockfile records a stage the pipeline no longer declares (reported, does not fail the audit)
 * - not_packaged: a raw input left out of an exported package built without --with-data (reported, does not fail)
 */
export type FindingKind = 'missing' | 'corrupted' | 'stale' | 'code_changed' | 'not_run' | 'orphaned' | 'not_packaged';
export type FindingSubject = 'output' | 'object' | 'dep' | 'input' | 'param' | 'code' | 'schema' | 'stage';

export interface AuditFinding {
  kind: FindingKind;
  stage: string;
  subject: FindingSubject;
  /** output name, input name, dotted param key, or dep/code path */
  name?: string;
  /** project-relative path of the file concerned */
  path?: string;
  expected?: unknown;
  actual?: unknown;
  message: string;
}

export type StageAuditStatus = 'ok' | 'missing' | 'corrupted' | 'stale' | 'code_changed' | 'not_run' | 'orphaned';

export interface AuditReport {
  ok: boolean;
  project: string;
  lockfile: string;
  checked: { stages: number; artifacts: number; store_objects: number; deps: number; code_files: number; params: number; packages: number };
  stages: { stage: string; status: StageAuditStatus; findings: number }[];
  findings: AuditFinding[];
}

/** What the current pipeline declares, for the checks the lockfile alone cannot make. Supplied by the engine when pipeline.yaml loads. */
export interface PipelineView {
  stages: string[];
  /** the param values the stage would use now, dotted key → value */
  params(stage: string): Record<string, unknown>;
  /** project-relative dep paths the stage would hash now (globs expanded) */
  deps(stage: string): Promise<string[]>;
  /** project-relative code files that would enter the stage's code hash now */
  codeFiles(stage: string): Promise<string[]>;
  /** the installed version of an npm package as the stages would import it, or "missing" */
  packageVersion?(name: string): string;
}

export interface AuditOptions {
  /** deps recorded in the lockfile but absent from disk are `not_packaged` instead of `missing` (an export built without --with-data) */
  depsNotPackaged?: boolean;
  /** npm packages the stages imported that are not installed are `not_packaged` instead of `code_changed` (inside an exported package, before `npm ci`) */
  modulesNotInstalled?: boolean;
  pipeline?: PipelineView;
}

const FAILING: ReadonlySet<FindingKind> = new Set(['missing', 'corrupted', 'stale', 'code_changed', 'not_run']);

export function isFailing(finding: AuditFinding): boolean {
  return FAILING.has(finding.kind);
}

export async function audit(project: Project, options: AuditOptions = {}): Promise<AuditReport> {
  const lock = await readLock(project);
  return auditLock(project, lock, options);
}

export async function auditLock(project: Project, lock: Lockfile, options: AuditOptions = {}): Promise<AuditReport> {
  const findings: AuditFinding[] = [];
  const checked = { stages: 0, artifacts: 0, store_objects: 0, deps: 0, code_files: 0, params: 0, packages: 0 };
  // One hash per file and recorded hash, however many stages share it.
  const hashes = new Map<string, Promise<FileState>>();
  const limit = limiter(8);
  const fileState = (relative: string, recorded: string) => {
    const key = `${relative}\0${recorded}`;
    let state = hashes.get(key);
    if (!state) {
      state = limit(() => inspectFile(project.root, relative, recorded));
      hashes.set(key, state);
    }
    return state;
  };
  // start every re-hash at once (a few at a time, so many small files overlap their I/O); the checks below then
  // read the results in a stable order
  for (const [relative, recorded] of recordedFiles(lock)) void fileState(relative, recorded).catch(() => undefined);

  const stageNames = Object.keys(lock.stages).sort();
  for (const stageName of stageNames) {
    const stage = lock.stages[stageName];
    checked.stages++;
    findings.push(...(await auditOutputs(stageName, stage, fileState, checked)));
    findings.push(...auditRunCache(project.root, stageName, stage));
    findings.push(...(await auditDeps(stageName, stage, fileState, checked, options)));
    findings.push(...(await auditCode(stageName, stage, fileState, checked)));
    findings.push(...auditInputs(stageName, stage, lock));
    findings.push(...(await auditSchemas(stageName, stage, fileState)));
  }

  if (options.pipeline) findings.push(...(await auditAgainstPipeline(lock, options.pipeline, checked)));
  if (options.pipeline?.packageVersion) findings.push(...auditPackages(lock, options.pipeline.packageVersion, options.modulesNotInstalled ?? false, checked));

  const stages = summarizeStages(stageNames, options.pipeline?.stages ?? [], findings);
  return {
    ok: !findings.some(isFailing),
    project: project.root,
    lockfile: project.lockfilePath,
    checked,
    stages,
    findings,
  };
}

/** Every (path, recorded hash) pair the checks below look at. */
function recordedFiles(lock: Lockfile): [string, string][] {
  const pairs: [string, string][] = [];
  for (const stage of Object.values(lock.stages)) {
    for (const out of Object.values(stage.outs)) {
      if (out.kind === 'dir') {
        pairs.push([out.object, out.hash]);
        for (const f of out.files ?? []) pairs.push([dirFilePath(out, f.path), f.hash], [objectRelPath(f.hash), f.hash]);
      } else {
        pairs.push([out.path, out.hash]);
        if (out.object && out.object !== out.path) pairs.push([out.object, out.hash]);
      }
      if (out.schema) pairs.push([out.schema.path, out.schema.hash], ...(out.schema.refs ?? []).map((r): [string, string] => [r.path, r.hash]));
    }
    for (const f of [...stage.deps, ...stage.code.files]) pairs.push([f.path, f.hash]);
  }
  return pairs;
}

/** Runs at most `n` of the given tasks at a time. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return (task) =>
    new Promise((resolve, reject) => {
      const start = () => {
        active++;
        task()
          .then(resolve, reject)
          .finally(() => {
            active--;
            queue.shift()?.();
          });
      };
      if (active < n) start();
      else queue.push(start);
    });
}

interface FileState {
  state: 'match' | 'mismatch' | 'missing' | 'not_a_file';
  actual?: string;
}

async function inspectFile(root: string, relative: string, recorded: string): Promise<FileState> {
  const absolute = resolveInProject(root, relative);
  // a directory dep is recorded with a trailing slash and the hash of its manifest
  const wantDir = relative.endsWith('/');
  try {
    const info = await stat(absolute);
    if (wantDir ? !info.isDirectory() : !info.isFile()) return { state: 'not_a_file' };
  } catch {
    return { state: 'missing' };
  }
  const actual = wantDir ? await hashDirLike(absolute, recorded) : await hashFileLike(absolute, recorded);
  return { state: actual === recorded ? 'match' : 'mismatch', actual };
}

type FileStateOf = (relative: string, recorded: string) => Promise<FileState>;
type Counters = AuditReport['checked'];

/**
 * The outputs are not part of the key: a lockfile edited by hand or torn by a merge can pair a key with another run's
 * outputs, all intact. When the project's run cache holds the sealed entry written when the key last ran (an exported
 * package has none), the lockfile's outputs must be the ones it records.
 */
function auditRunCache(root: string, stageName: string, stage: LockedStage): AuditFinding[] {
  let text: string | undefined;
  try {
    text = unseal(readFileSync(runCachePath(root, stage.key), 'utf8'));
  } catch {
    return [];
  }
  let remembered: LockedStage;
  try {
    remembered = JSON.parse(text ?? 'null') as LockedStage;
  } catch {
    return [];
  }
  if (remembered === null || typeof remembered !== 'object' || remembered.key !== stage.key || remembered.outs === null || typeof remembered.outs !== 'object') return [];
  const findings: AuditFinding[] = [];
  for (const [name, out] of Object.entries(stage.outs)) {
    const ran = Object.hasOwn(remembered.outs, name) ? remembered.outs[name] : undefined;
    if (ran?.hash !== out.hash) {
      findings.push({ kind: 'corrupted', stage: stageName, subject: 'output', name, path: out.path, expected: ran?.hash, actual: out.hash, message: `${stageName}.${name}: the lockfile records ${out.hash}, but the run with this key produced ${ran?.hash ?? 'no such output'} (artifacts/runs/): the lockfile was edited or merged by hand; \`spillway run\` restores the right output` });
    }
  }
  return findings;
}

async function auditOutputs(stageName: string, stage: LockedStage, fileState: FileStateOf, checked: Counters): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  for (const [name, out] of Object.entries(stage.outs).sort(([a], [b]) => a.localeCompare(b))) {
    const label = `${stageName}.${name}`;
    if (out.kind === 'dir') {
      // a dir output: its manifest object (whose hash is the output's hash), and every file both where people
      // read it and in the store
      checked.artifacts++;
      checked.store_objects++;
      findings.push(...(await checkRecordedFile(fileState, { path: out.object, hash: out.hash, size: 0 }, { stage: stageName, subject: 'object', name, label: `store manifest of ${label}` })));
      for (const file of out.files ?? []) {
        const readable = dirFilePath(out, file.path);
        findings.push(...(await checkRecordedFile(fileState, { ...file, path: readable }, { stage: stageName, subject: 'output', name, label: `${label} (${readable})` })));
        checked.store_objects++;
        findings.push(...(await checkRecordedFile(fileState, { ...file, path: objectRelPath(file.hash) }, { stage: stageName, subject: 'object', name, label: `store object of ${readable}` })));
      }
      continue;
    }
    checked.artifacts++;
    findings.push(...(await checkRecordedFile(fileState, { path: out.path, hash: out.hash, size: out.size }, { stage: stageName, subject: 'output', name, label })));
    if (out.object && out.object !== out.path) {
      checked.store_objects++;
      findings.push(...(await checkRecordedFile(fileState, { path: out.object, hash: out.hash, size: out.size }, { stage: stageName, subject: 'object', name, label: `store object of ${label}` })));
    }
  }
  return findings;
}

async function checkRecordedFile(
  fileState: FileStateOf,
  file: LockedFile,
  at: { stage: string; subject: FindingSubject; name?: string; label: string },
): Promise<AuditFinding[]> {
  const { state, actual } = await fileState(file.path, file.hash);
  const base = { stage: at.stage, subject: at.subject, name: at.name, path: file.path };
  if (state === 'match') return [];
  if (state === 'missing' || state === 'not_a_file') {
    return [{ ...base, kind: 'missing', expected: file.hash, message: `${at.label} is missing: ${file.path}` }];
  }
  const kind: FindingKind = at.subject === 'output' || at.subject === 'object' ? 'corrupted' : at.subject === 'code' ? 'code_changed' : 'stale';
  const verb = kind === 'corrupted' ? 'bytes do not match the recorded hash' : 'changed since the stage ran';
  return [{ ...base, kind, expected: file.hash, actual, message: `${at.label}: ${verb} (${file.path})` }];
}

async function auditDeps(stageName: string, stage: LockedStage, fileState: FileStateOf, checked: Counters, options: AuditOptions): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  for (const dep of stage.deps) {
    checked.deps++;
    const found = await checkRecordedFile(fileState, dep, { stage: stageName, subject: 'dep', name: dep.path, label: `dep ${dep.path} of ${stageName}` });
    for (const finding of found) {
      if (finding.kind === 'missing' && options.depsNotPackaged) {
        findings.push({ ...finding, kind: 'not_packaged', message: `dep ${dep.path} of ${stageName} is not in this package (exported without --with-data); its checksum is in raw-inputs.sha256` });
      } else {
        // a missing dep makes the stage unreproducible from this tree; a changed one makes it stale
        findings.push(finding.kind === 'missing' ? finding : { ...finding, kind: 'stale' });
      }
    }
  }
  return findings;
}

async function auditCode(stageName: string, stage: LockedStage, fileState: FileStateOf, checked: Counters): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  for (const file of stage.code.files) {
    checked.code_files++;
    const found = await checkRecordedFile(fileState, file, { stage: stageName, subject: 'code', name: file.path, label: `code file ${file.path} of ${stageName}` });
    findings.push(...found.map((f) => (f.kind === 'missing' ? { ...f, kind: 'code_changed' as const, message: `code file ${file.path} of ${stageName} was removed` } : f)));
  }
  return findings;
}

function auditInputs(stageName: string, stage: LockedStage, lock: Lockfile): AuditFinding[] {
  const findings: AuditFinding[] = [];
  for (const [name, input] of Object.entries(stage.inputs)) {
    const [upstream, output] = splitRef(input.from);
    const produced = lock.stages[upstream]?.outs[output];
    if (!produced) {
      findings.push({ kind: 'stale', stage: stageName, subject: 'input', name, expected: input.hash, message: `input ${name} (${input.from}) has no record in the lockfile: ${upstream} has not produced it` });
    } else if (produced.hash !== input.hash) {
      findings.push({ kind: 'stale', stage: stageName, subject: 'input', name, expected: input.hash, actual: produced.hash, message: `input ${name} (${input.from}) changed since ${stageName} ran: ${upstream} has produced new content` });
    }
  }
  return findings;
}

async function auditSchemas(stageName: string, stage: LockedStage, fileState: FileStateOf): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  const seen = new Set<string>();
  for (const [name, out] of Object.entries(stage.outs)) {
    if (!out.schema) continue;
    // the schema and the local files it refers to ("$ref"), as recorded
    for (const file of [out.schema, ...(out.schema.refs ?? [])]) {
      if (seen.has(file.path)) continue;
      seen.add(file.path);
      const label = file === out.schema ? `schema ${file.path} of ${stageName}.${name}` : `schema ${file.path} (referred to by ${out.schema.path}) of ${stageName}.${name}`;
      const found = await checkRecordedFile(fileState, { path: file.path, hash: file.hash, size: 0 }, { stage: stageName, subject: 'schema', name, label });
      findings.push(...found.map((f) => ({ ...f, kind: 'stale' as const })));
    }
  }
  return findings;
}

async function auditAgainstPipeline(lock: Lockfile, pipeline: PipelineView, checked: Counters): Promise<AuditFinding[]> {
  const findings: AuditFinding[] = [];
  const declared = new Set(pipeline.stages);
  for (const stageName of [...pipeline.stages].sort()) {
    const stage = lock.stages[stageName];
    if (!stage) {
      findings.push({ kind: 'not_run', stage: stageName, subject: 'stage', message: `stage ${stageName} is declared in the pipeline but has no record in the lockfile` });
      continue;
    }
    const now = pipeline.params(stageName);
    for (const key of new Set([...Object.keys(now), ...Object.keys(stage.params)])) {
      checked.params++;
      const hadKey = key in stage.params;
      const hasKey = key in now;
      if (!hadKey || !hasKey || stableJson(now[key]) !== stableJson(stage.params[key])) {
        const message = !hadKey
          ? `param ${key} is now declared by ${stageName} but was not when it ran`
          : !hasKey
            ? `param ${key} is no longer declared by ${stageName}`
            : `param ${key} changed: ${stableJson(stage.params[key])} → ${stableJson(now[key])}`;
        findings.push({ kind: 'stale', stage: stageName, subject: 'param', name: key, expected: stage.params[key], actual: now[key], message });
      }
    }
    const recordedDeps = new Set(stage.deps.map((d) => d.path));
    for (const dep of await pipeline.deps(stageName)) {
      if (!recordedDeps.has(dep)) {
        findings.push({ kind: 'stale', stage: stageName, subject: 'dep', name: dep, path: dep, message: `dep ${dep} now matches ${stageName}'s deps but did not when it ran` });
      }
    }
    const recordedCode = new Set(stage.code.files.map((f) => f.path));
    for (const file of await pipeline.codeFiles(stageName)) {
      if (!recordedCode.has(file)) {
        findings.push({ kind: 'code_changed', stage: stageName, subject: 'code', name: file, path: file, message: `code file ${file} now enters ${stageName}'s code but did not when it ran` });
      }
    }
  }
  for (const stageName of Object.keys(lock.stages).sort()) {
    if (!declared.has(stageName)) {
      findings.push({ kind: 'orphaned', stage: stageName, subject: 'stage', message: `the lockfile records stage ${stageName}, which the pipeline no longer declares` });
    }
  }
  return findings;
}

/** The npm packages a stage's code imported, with the versions the lockfile records (code.packages), against what is installed now. */
function auditPackages(lock: Lockfile, installed: (name: string) => string, notInstalledIsExpected: boolean, checked: Counters): AuditFinding[] {
  const findings: AuditFinding[] = [];
  const versions = new Map<string, string>();
  for (const stageName of Object.keys(lock.stages).sort()) {
    for (const [name, recorded] of Object.entries(lock.stages[stageName].code.packages ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      if (!versions.has(name)) versions.set(name, installed(name));
      const now = versions.get(name)!;
      checked.packages++;
      if (now === recorded) continue;
      const base = { stage: stageName, subject: 'code' as const, name: `npm:${name}`, expected: recorded, actual: now };
      if (now === 'missing' && notInstalledIsExpected) {
        findings.push({ ...base, kind: 'not_packaged', message: `npm package ${name}@${recorded} imported by ${stageName} is not installed here; \`npm ci\` installs the recorded versions from package-lock.json` });
      } else {
        findings.push({ ...base, kind: 'code_changed', message: now === 'missing' ? `npm package ${name} imported by ${stageName} is not installed (recorded ${recorded})` : `npm package ${name} imported by ${stageName} changed: ${recorded} → ${now}` });
      }
    }
  }
  return findings;
}

const STATUS_ORDER: StageAuditStatus[] = ['corrupted', 'missing', 'code_changed', 'stale', 'not_run', 'orphaned', 'ok'];

function summarizeStages(recorded: string[], declared: string[], findings: AuditFinding[]): AuditReport['stages'] {
  const names = [...new Set([...recorded, ...declared])].sort();
  return names.map((stage) => {
    const own = findings.filter((f) => f.stage === stage && f.kind !== 'not_packaged');
    const kinds = new Set<string>(own.map((f) => f.kind));
    const status = STATUS_ORDER.find((s) => kinds.has(s)) ?? 'ok';
    return { stage, status, findings: own.length };
  });
}

/** JSON with sorted keys, so that param values compare by content. */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

