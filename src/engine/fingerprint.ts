// A stage's cache key and its components, and the component-by-component diff against the lockfile that explains
// why a stage is stale ("param classify.top_share: 0.25 → 0.3").
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SpillwayError } from '../errors.js';
import { packageVersion, stageCodeFiles } from './code.js';
import { canonicalJson, type HashedFile, type StatCache } from './hash.js';
import { under } from './paths.js';
import type { LockedSchema, LockedStage } from './lockfile-format.js';
import { ENGINE_FORMAT, type Pipeline, type StageDecl } from './pipeline.js';
import { schemaRefs } from './schema-refs.js';
import { hashDir } from './store.js';
import { declaredDeps, declaredParams } from './declaration.js';

export interface Fingerprint {
  /** undefined while some input's hash is unknown (its upstream has not run yet) */
  key: string | undefined;
  code: { hash: string; module?: string; cmd?: string[]; files: HashedFile[]; packages: Record<string, string> };
  /** declared params, dotted key → value */
  params: Record<string, unknown>;
  deps: HashedFile[];
  /** input local name → { from, hash } (hash undefined if unknown) */
  inputs: Record<string, { from: string; hash: string | undefined }>;
  /** schema files of json outs, by out name, with the local files they refer to ("$ref"), if any */
  schemas: Record<string, LockedSchema>;
}

/** The declared deps, hashed: a file by its content, a directory by its manifest (see store.ts). */
async function hashedDeps(pipeline: Pipeline, stage: StageDecl, cache: StatCache): Promise<HashedFile[]> {
  const hashed: HashedFile[] = [];
  for (const dep of await declaredDeps(pipeline, stage.name, cache)) {
    if (dep.path.endsWith('/')) {
      const d = hashDir(resolve(pipeline.root, dep.path.slice(0, -1)), cache);
      hashed.push({ path: dep.path, hash: d.hash, size: d.size });
    } else hashed.push(cache.hashFile(under(pipeline.root, dep.path)));
  }
  return hashed;
}

export async function fingerprintStage(
  pipeline: Pipeline,
  stage: StageDecl,
  cache: StatCache,
  inputHashes: Record<string, string | undefined>,
): Promise<Fingerprint> {
  if (stage.run !== undefined && !existsSync(under(pipeline.root, stage.run))) {
    throw new SpillwayError('invalidPipeline', `stage "${stage.name}": module ${stage.run} does not exist`, {
      file: stage.run,
      hint: `create it, or fix stages.${stage.name}.run in the pipeline file`,
      context: { stage: stage.name },
    });
  }
  for (const out of stage.outs) {
    if (out.schema && !existsSync(under(pipeline.root, out.schema))) {
      throw new SpillwayError('invalidPipeline', `stage "${stage.name}", output "${out.name}": schema ${out.schema} does not exist`, {
        file: out.schema,
        context: { stage: stage.name, output: out.name },
      });
    }
  }
  const packageNames = new Set<string>();
  const codeFiles = await stageCodeFiles(stage, pipeline.root, cache, packageNames);
  const packages: Record<string, string> = {};
  for (const name of [...packageNames].sort()) packages[name] = packageVersion(pipeline.root, name, cache);
  const code = {
    hash: cache.digestOf(canonicalJson({ run: stage.run ?? null, cmd: stage.cmd ?? null, files: codeFiles.map((f) => [f.path, f.hash]), packages: Object.entries(packages) })),
    ...(stage.run !== undefined ? { module: stage.run } : {}),
    ...(stage.cmd !== undefined ? { cmd: stage.cmd } : {}),
    files: codeFiles,
    packages,
  };
  const params = declaredParams(pipeline, stage.name);
  const deps = await hashedDeps(pipeline, stage, cache);
  const inputs: Fingerprint['inputs'] = {};
  for (const input of stage.inputs) inputs[input.name] = { from: input.ref, hash: inputHashes[input.name] };
  const schemas: Fingerprint['schemas'] = {};
  for (const out of stage.outs) {
    if (out.schema) {
      const refs = schemaRefs(pipeline.root, out.schema, cache);
      schemas[out.name] = { path: out.schema, hash: cache.hashFile(under(pipeline.root, out.schema)).hash, ...(refs.length > 0 ? { refs } : {}) };
    }
  }
  const known = Object.values(inputs).every((i) => i.hash !== undefined);
  const key = known
    ? cache.digestOf(canonicalJson({
        format: ENGINE_FORMAT,
        code: code.hash,
        params: Object.entries(params),
        dep_patterns: stage.deps,
        deps: deps.map((d) => [d.path, d.hash]),
        inputs: Object.entries(inputs).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, i]) => [n, i.from, i.hash]),
        // the files a schema refers to only when it has any, so that the keys of every other stage stay as they were
        outs: stage.outs.map((o) => {
          const refs = schemas[o.name]?.refs;
          return [o.name, o.kind, o.path ?? null, o.schema ?? null, schemas[o.name]?.hash ?? null, ...(refs ? [refs.map((r) => [r.path, r.hash])] : [])];
        }),
      }))
    : undefined;
  return { key, code, params, deps, inputs, schemas };
}

export type ReasonComponent = 'new' | 'forced' | 'code' | 'param' | 'dep' | 'input' | 'upstream' | 'output' | 'schema' | 'declaration';

export interface StaleReason {
  component: ReasonComponent;
  message: string;
  /** file path (code, dep), param key, input or output name */
  name?: string;
  old?: unknown;
  new?: unknown;
}

function short(value: unknown): string {
  const text = canonicalJson(value) ?? 'undefined';
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function diffFiles(component: 'code' | 'dep', old: { path: string; hash: string }[], now: HashedFile[], out: StaleReason[]): void {
  const before = new Map(old.map((f) => [f.path, f.hash]));
  const after = new Map(now.map((f) => [f.path, f.hash]));
  const label = component === 'code' ? 'code file' : 'dep';
  for (const [path, hash] of after) {
    const was = before.get(path);
    if (was === undefined) out.push({ component, name: path, message: `${label} ${path} added`, new: hash });
    else if (was !== hash) out.push({ component, name: path, message: `${label} ${path} changed`, old: was, new: hash });
  }
  for (const [path, hash] of before) {
    if (!after.has(path)) out.push({ component, name: path, message: `${label} ${path} removed`, old: hash });
  }
}

/** Why `fp` differs from the lockfile entry, component by component (empty when nothing visible differs). */
export function diffAgainstLock(entry: LockedStage | undefined, fp: Fingerprint): StaleReason[] {
  if (entry === undefined) return [{ component: 'new', message: 'never run (no entry in the lockfile)' }];
  const reasons: StaleReason[] = [];
  if (canonicalJson(entry.code.cmd ?? null) !== canonicalJson(fp.code.cmd ?? null)) {
    reasons.push({ component: 'code', name: 'cmd', message: `command changed: ${short(entry.code.cmd)} → ${short(fp.code.cmd)}`, old: entry.code.cmd, new: fp.code.cmd });
  }
  if ((entry.code.module ?? null) !== (fp.code.module ?? null)) {
    reasons.push({ component: 'code', name: 'run', message: `module changed: ${entry.code.module ?? '-'} → ${fp.code.module ?? '-'}`, old: entry.code.module, new: fp.code.module });
  }
  diffFiles('code', entry.code.files, fp.code.files, reasons);
  const before = entry.code.packages ?? {};
  if (entry.code.packages === undefined && Object.keys(fp.code.packages).length > 0) {
    reasons.push({ component: 'code', name: 'packages', message: `imported package versions now enter the key (${Object.keys(fp.code.packages).join(', ')})` });
  } else for (const name of new Set([...Object.keys(before), ...Object.keys(fp.code.packages)])) {
    const was = before[name];
    const now = fp.code.packages[name];
    if (was !== now) {
      reasons.push({ component: 'code', name: `package:${name}`, message: `package ${name}: ${was ?? '(not imported)'} → ${now ?? '(not imported)'}`, old: was, new: now });
    }
  }
  const keys = new Set([...Object.keys(entry.params), ...Object.keys(fp.params)]);
  for (const key of [...keys].sort()) {
    const inOld = Object.hasOwn(entry.params, key);
    const inNew = Object.hasOwn(fp.params, key);
    if (inOld && !inNew) reasons.push({ component: 'param', name: key, message: `param ${key} no longer declared (was ${short(entry.params[key])})`, old: entry.params[key] });
    else if (!inOld && inNew) reasons.push({ component: 'param', name: key, message: `param ${key} newly declared (${short(fp.params[key])})`, new: fp.params[key] });
    else if (canonicalJson(entry.params[key]) !== canonicalJson(fp.params[key])) {
      reasons.push({ component: 'param', name: key, message: `param ${key}: ${short(entry.params[key])} → ${short(fp.params[key])}`, old: entry.params[key], new: fp.params[key] });
    }
  }
  diffFiles('dep', entry.deps, fp.deps, reasons);
  const inputNames = new Set([...Object.keys(entry.inputs), ...Object.keys(fp.inputs)]);
  for (const name of [...inputNames].sort()) {
    const was = entry.inputs[name];
    const now = fp.inputs[name];
    if (!was) reasons.push({ component: 'input', name, message: `input ${name} (${now.from}) added` });
    else if (!now) reasons.push({ component: 'input', name, message: `input ${name} (${was.from}) removed` });
    else if (was.from !== now.from) reasons.push({ component: 'input', name, message: `input ${name}: ${was.from} → ${now.from}`, old: was.from, new: now.from });
    else if (now.hash !== undefined && was.hash !== now.hash) {
      reasons.push({ component: 'input', name, message: `input ${name} (${now.from}) changed`, old: was.hash, new: now.hash });
    }
  }
  const outNames = new Set([...Object.keys(entry.outs), ...Object.keys(fp.schemas)]);
  for (const name of outNames) {
    const schema = fp.schemas[name];
    const was = entry.outs[name]?.schema;
    if (schema && was && schema.hash !== was.hash) reasons.push({ component: 'schema', name, message: `schema ${schema.path} of output ${name} changed`, old: was.hash, new: schema.hash });
    if (schema && was) {
      const before = new Map((was.refs ?? []).map((r) => [r.path, r.hash]));
      const after = new Map((schema.refs ?? []).map((r) => [r.path, r.hash]));
      for (const path of [...new Set([...before.keys(), ...after.keys()])].sort()) {
        const [old, now] = [before.get(path), after.get(path)];
        if (old === now) continue;
        const how = old === undefined ? 'now referred to' : now === undefined ? 'no longer referred to' : 'changed';
        reasons.push({ component: 'schema', name, message: `schema ${path} (referred to by ${schema.path}) of output ${name} ${how}`, old, new: now });
      }
    }
  }
  return reasons;
}

export function describeReasons(reasons: StaleReason[]): string {
  return reasons.map((r) => r.message).join('; ');
}
