// What a finished stage produced: validated against its schemas, stored by content hash, materialized for people.
import { mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SpillwayError } from '../errors.js';
import type { StageFailure } from './executor.js';
import type { Fingerprint } from './fingerprint.js';
import { hashBytes, type StatCache } from './hash.js';
import type { LockedOutput, LockedSchema } from './lockfile-format.js';
import type { Pipeline, StageDecl } from './pipeline.js';
import { checkDir, checkObject, installDir, materializeDir, materializeFile, objectRelPath, putBytes, putDir, putFile, readManifest } from './store.js';
import { envName } from './execute.js';

// ---------------------------------------------------------------------------------------------------------------
// Output validation (ajv loaded only when a stage actually produced something)

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown>; schemaPath: string }[] | null };
const validators = new Map<string, Promise<Validator>>();


/** The compiled schema, kept per process for this version of it and of every file it refers to (watch runs again). */
function schemaValidator(root: string, schema: LockedSchema): Promise<Validator> {
  const cacheKey = `${root}|${schema.path}|${schema.hash}${(schema.refs ?? []).map((r) => `|${r.path}|${r.hash}`).join('')}`;
  let validator = validators.get(cacheKey);
  if (validator === undefined) {
    validator = compileValidator(root, schema.path);
    validators.set(cacheKey, validator);
    validator.catch(() => validators.delete(cacheKey));
  }
  return validator;
}

/**
 * Loads ajv and compiles the stage's output schemas while the stage process runs (the engine is idle then), so that
 * validation does not add ajv's start-up to the stage's time. Errors surface later, in collectOutputs.
 */
export function prepareValidators(pipeline: Pipeline, fp: Fingerprint): void {
  for (const schema of Object.values(fp.schemas)) schemaValidator(pipeline.root, schema).catch(() => {});
}

async function compileValidator(root: string, schemaPath: string): Promise<Validator> {
  const schema = JSON.parse(readFileSync(resolve(root, schemaPath), 'utf8')) as { $schema?: string };
  const draft = schema.$schema ?? '';
  const AjvClass = draft.includes('2020-12')
    ? (await import('ajv/dist/2020.js')).default.default
    : draft.includes('2019-09')
      ? (await import('ajv/dist/2019.js')).default.default
      : (await import('ajv')).default.default;
  const addFormats = (await import('ajv-formats')).default.default;
  const ajv = new AjvClass({ allErrors: false, strict: false });
  addFormats(ajv);
  // A relative "$ref": "common.schema.json#/…" resolves against the schema's own file, and is loaded on demand.
  const withId = (schema as { $id?: string }).$id === undefined ? { ...schema, $id: pathToFileURL(resolve(root, schemaPath)).href } : schema;
  let validate: Validator | undefined;
  for (let attempt = 0; validate === undefined; attempt++) {
    try {
      validate = ajv.compile(withId) as unknown as Validator;
    } catch (error) {
      const missing = (error as { missingSchema?: string }).missingSchema;
      if (missing?.startsWith('file:') && attempt < 50) {
        try {
          ajv.addSchema(JSON.parse(readFileSync(fileURLToPath(missing), 'utf8')) as object, missing);
          continue;
        } catch {
          /* fall through to the error below */
        }
      }
      throw new SpillwayError('invalidPipeline', `schema ${schemaPath} is not a valid JSON Schema: ${(error as Error).message}`, { file: schemaPath });
    }
  }
  return validate;
}

/**
 * Reads a JSON output a stage wrote to `${workDir}/json/<name>.json` and validates it against its schema: the bytes, or
 * a failure naming stage, output, schema, JSON pointer and rule. Used by the engine and, for cluster jobs, on the node.
 */
export async function checkJsonOutput(root: string, stage: { name: string; cmd?: unknown }, name: string, schema: LockedSchema, workDir: string): Promise<{ bytes: Buffer } | StageFailure> {
  const file = join(workDir, 'json', `${name}.json`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return { kind: 'outputs', message: `stage "${stage.name}" did not write its JSON output "${name}"${stage.cmd ? ` (expected at $SPILLWAY_OUT_${envName(name)})` : ''}` };
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    return { kind: 'outputs', message: `stage "${stage.name}", output "${name}" is not valid JSON: ${(error as Error).message}` };
  }
  const validate = await schemaValidator(root, schema);
  if (!validate(value)) {
    const e = validate.errors?.[0];
    const pointer = e?.instancePath || '/';
    const rule = e ? `${e.keyword}${e.keyword === 'required' ? ` "${String(e.params.missingProperty)}"` : ''} (${e.schemaPath})` : 'unknown';
    return {
      kind: 'schema',
      message: `stage "${stage.name}", output "${name}" violates ${schema.path} at ${pointer}: ${e?.message ?? 'invalid'} [rule ${rule}]`,
    };
  }
  return { bytes };
}

/** The schema record of a lockfile entry: exactly the fields the key was made with. */
function lockedSchema(schema: LockedSchema): LockedSchema {
  return { path: schema.path, hash: schema.hash, ...(schema.refs ? { refs: schema.refs } : {}) };
}

export interface CollectedOutputs {
  outs: Record<string, LockedOutput>;
}

/** Validates, stores and materializes a finished stage's outputs; a failure names stage, artifact, pointer and rule. */
export async function collectOutputs(pipeline: Pipeline, stage: StageDecl, fp: Fingerprint, workDir: string, cache: StatCache): Promise<CollectedOutputs | StageFailure> {
  const root = pipeline.root;
  const outs: Record<string, LockedOutput> = {};
  for (const out of stage.outs) {
    if (out.kind === 'json') {
      const checked = await checkJsonOutput(root, stage, out.name, fp.schemas[out.name], workDir);
      if (!('bytes' in checked)) return checked;
      const { bytes } = checked;
      const schema = fp.schemas[out.name];
      const hash = putBytes(root, bytes, undefined, cache);
      const readable = `artifacts/out/${stage.name}/${out.name}.json`;
      materializeFile(root, hash, resolve(root, readable), cache);
      outs[out.name] = { kind: 'json', hash, size: bytes.length, path: readable, object: objectRelPath(hash), schema: lockedSchema(schema) };
    } else {
      const produced = join(workDir, 'files', out.name);
      let isDir: boolean;
      try {
        isDir = statSync(produced).isDirectory();
      } catch {
        return { kind: 'outputs', message: `stage "${stage.name}" did not write its ${out.kind} output "${out.name}" (ctx.outPath("${out.name}"))` };
      }
      if (isDir !== (out.kind === 'dir')) {
        return { kind: 'outputs', message: `stage "${stage.name}", output "${out.name}" was declared as a ${out.kind} but a ${isDir ? 'directory' : 'file'} was written` };
      }
      const target = resolve(root, out.path as string);
      if (out.kind === 'file') {
        const hash = hashBytes(readFileSync(produced));
        putFile(root, produced, hash, cache);
        mkdirSync(dirname(target), { recursive: true });
        renameSync(produced, target);
        cache.remember(target, hash);
        outs[out.name] = { kind: 'file', hash, size: statSync(target).size, path: out.path as string, object: objectRelPath(hash) };
      } else {
        const stored = putDir(root, produced, cache);
        installDir(produced, target);
        for (const f of stored.manifest.files) cache.remember(join(target, f.path), f.hash);
        outs[out.name] = { kind: 'dir', hash: stored.hash, size: stored.size, path: out.path as string, object: objectRelPath(stored.hash), files: stored.manifest.files };
      }
    }
  }
  return { outs };
}

/**
 * Outputs an executor already validated and stored (a cluster job, on its node): accepted only when they are exactly
 * the declared outputs and every object checks out against its hash here; then materialized for people.
 */
export function adoptPublished(pipeline: Pipeline, stage: StageDecl, fp: Fingerprint, published: Record<string, LockedOutput>, cache: StatCache): CollectedOutputs | StageFailure {
  const root = pipeline.root;
  const outs: Record<string, LockedOutput> = {};
  const names = Object.keys(published);
  if (names.length !== stage.outs.length || stage.outs.some((o) => !Object.hasOwn(published, o.name))) {
    return { kind: 'outputs', message: `stage "${stage.name}": the executor published outputs ${names.join(', ') || '(none)'}, declared: ${stage.outs.map((o) => o.name).join(', ')}` };
  }
  for (const decl of stage.outs) {
    const out = published[decl.name];
    const state = decl.kind === 'dir' ? checkDir(root, out.hash, cache, { quarantine: true }) : checkObject(root, out.hash, cache, { quarantine: true });
    if (out.kind !== decl.kind || state !== 'ok') {
      return { kind: 'corrupt', message: `stage "${stage.name}", output "${decl.name}": the published store object ${out.object} ${out.kind !== decl.kind ? `is a ${out.kind}, declared a ${decl.kind}` : state === 'missing' ? 'is missing' : 'does not match its hash'}` };
    }
    if (decl.kind === 'json') {
      const schema = fp.schemas[decl.name];
      const readable = `artifacts/out/${stage.name}/${decl.name}.json`;
      materializeFile(root, out.hash, resolve(root, readable), cache);
      outs[decl.name] = { kind: 'json', hash: out.hash, size: out.size, path: readable, object: objectRelPath(out.hash), schema: lockedSchema(schema) };
    } else if (decl.kind === 'file') {
      materializeFile(root, out.hash, resolve(root, decl.path as string), cache);
      outs[decl.name] = { kind: 'file', hash: out.hash, size: out.size, path: decl.path as string, object: objectRelPath(out.hash) };
    } else {
      materializeDir(root, out.hash, resolve(root, decl.path as string), cache);
      outs[decl.name] = { kind: 'dir', hash: out.hash, size: out.size, path: decl.path as string, object: objectRelPath(out.hash), files: readManifest(root, out.hash).files };
    }
  }
  return { outs };
}
