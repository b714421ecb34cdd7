// The RO-Crate metadata document of an exported package.
// RO-Crate 1.1 (https://w3id.org/ro/crate/1.1) with the Workflow Run Crate profiles 0.5
// (https://w3id.org/ro/wfrun/process/0.5, /workflow/0.5, /provenance/0.5): the pipeline is the main
// ComputationalWorkflow, the (composite) pipeline run is a CreateAction whose instrument is the workflow, and each
// stage run is a CreateAction whose instrument is the stage's tool, orchestrated by a ControlAction per step and an
// OrganizeAction for the spillway engine (Provenance Run Crate). Every file carries its sha256.
import path from 'node:path';
import type { LockedOutput, Lockfile } from '../engine/lockfile-format.js';
export { dirFilePath };
import { dirFilePath, splitRef } from './project.js';
import { topologicalStages } from './graph.js';

export const RO_CRATE_CONTEXT = ['https://w3id.org/ro/crate/1.1/context', 'https://w3id.org/ro/terms/workflow-run/context'];
export const PROFILES = {
  process: 'https://w3id.org/ro/wfrun/process/0.5',
  workflow: 'https://w3id.org/ro/wfrun/workflow/0.5',
  provenance: 'https://w3id.org/ro/wfrun/provenance/0.5',
  workflowRoCrate: 'https://w3id.org/workflowhub/workflow-ro-crate/1.0',
  roCrate: 'https://w3id.org/ro/crate/1.1',
} as const;

export interface PackagedFile {
  /** package-relative path, forward slashes */
  path: string;
  sha256: string;
  size: number;
}

export interface CrateInput {
  lock: Lockfile;
  /** every file in the package (except the metadata files being written), by package-relative path */
  files: Map<string, PackagedFile>;
  /** raw inputs left out of the package (no --with-data), with their recorded checksums */
  absentRaw: PackagedFile[];
  name: string;
  description: string;
  license: string;
  datePublished: string;
  spillwayVersion: string;
}

type Ref = { '@id': string };
type Entity = { '@id': string; '@type': string | string[]; [key: string]: unknown };
const ref = (id: string): Ref => ({ '@id': id });

/** RO-Crate 1.1 §Data entities: @id of a file in the crate is a relative URI path, percent-encoded segment by segment. */
export function fileId(relative: string): string {
  return relative.split('/').map(encodeURIComponent).join('/');
}

const MEDIA_TYPES: Record<string, string> = {
  '.json': 'application/json', '.csv': 'text/csv', '.gz': 'application/gzip', '.html': 'text/html', '.svg': 'image/svg+xml',
  '.md': 'text/markdown', '.tex': 'application/x-tex', '.ts': 'text/x-typescript', '.js': 'text/javascript', '.yaml': 'application/yaml',
  '.yml': 'application/yaml', '.txt': 'text/plain', '.lock': 'application/json', '.sha256': 'text/plain', '.py': 'text/x-python',
};
export function mediaType(relative: string): string {
  return MEDIA_TYPES[path.extname(relative).toLowerCase()] ?? 'application/octet-stream';
}

/** Workflow Run Crate: a FormalParameter that maps to a value SHOULD name a schema.org DataType (or PropertyValue for structured values). */
function dataType(value: unknown): string {
  if (typeof value === 'boolean') return 'Boolean';
  if (typeof value === 'number') return Number.isInteger(value) ? 'Integer' : 'Float';
  if (typeof value === 'string') return 'Text';
  return 'PropertyValue';
}
/** schema.org `value` takes Text, Number, Boolean or StructuredValue: structured params are carried as their JSON text. */
function propertyValue(value: unknown): string | number | boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value);
}

export function buildRoCrate(input: CrateInput): { '@context': string[]; '@graph': Entity[] } {
  const { lock, files } = input;
  const graph = new Map<string, Entity>();
  const add = (e: Entity) => {
    const existing = graph.get(e['@id']);
    graph.set(e['@id'], existing ? mergeEntities(existing, e) : e);
    return e;
  };
  const order = topologicalStages(lock);
  const pipelinePath = lock.pipeline.path;
  const workflowId = fileId(pipelinePath);

  // ---- files: every packaged file is a data entity with its checksum ----
  const fileEntity = (relative: string, extra: Record<string, unknown> = {}): Entity => {
    const f = files.get(relative);
    if (!f) throw new Error(`export: ${relative} is described but was not packaged`);
    return add({ '@id': fileId(relative), '@type': 'File', name: relative, contentSize: String(f.size), encodingFormat: mediaType(relative), sha256: f.sha256, ...extra });
  };
  for (const relative of [...files.keys()].sort()) fileEntity(relative);
  for (const raw of input.absentRaw) {
    add({
      '@id': `#raw/${fileId(raw.path)}`, '@type': 'File', name: raw.path, alternateName: raw.path, contentSize: String(raw.size),
      encodingFormat: mediaType(raw.path), sha256: raw.sha256,
      description: 'Raw input not included in this package (exported without --with-data); place it at alternateName to verify it against sha256.',
    });
  }
  const rawId = (relative: string) => (files.has(relative) ? fileId(relative) : `#raw/${fileId(relative)}`);

  // ---- the workflow (prospective provenance) ----
  const workflowParams = new Map<string, unknown>();
  for (const name of order) for (const [key, value] of Object.entries(lock.stages[name].params)) workflowParams.set(key, value);
  const rawPaths = [...new Set(order.flatMap((n) => lock.stages[n].deps.map((d) => d.path)))].sort();
  const outputRef = (stage: string, out: string) => `#output/${stage}.${out}`;

  const workflowInputs: Ref[] = [];
  for (const [key, value] of [...workflowParams].sort(([a], [b]) => a.localeCompare(b))) {
    add({ '@id': `#param/${key}`, '@type': 'FormalParameter', name: key, additionalType: dataType(value), description: `pipeline param ${key}` });
    workflowInputs.push(ref(`#param/${key}`));
  }
  for (const raw of rawPaths) {
    add({ '@id': `#input/${fileId(raw)}`, '@type': 'FormalParameter', name: raw, additionalType: 'File', description: `raw input ${raw}` });
    workflowInputs.push(ref(`#input/${fileId(raw)}`));
  }
  const workflowOutputs: Ref[] = [];
  for (const name of order) {
    for (const [out, locked] of Object.entries(lock.stages[name].outs)) {
      add({ '@id': outputRef(name, out), '@type': 'FormalParameter', name: `${name}.${out}`, additionalType: locked.kind === 'dir' ? 'Dataset' : 'File', description: `output ${out} of stage ${name}` });
      workflowOutputs.push(ref(outputRef(name, out)));
    }
  }

  add({
    '@id': '#spillway-pipeline', '@type': 'ComputerLanguage', name: 'spillway pipeline', alternateName: 'spillway',
    description: 'pipeline.yaml: a YAML DAG of content-hashed stages (see docs/pipeline-format.md)',
  });
  const tools: Ref[] = [];
  const steps: Ref[] = [];
  order.forEach((name, position) => {
    const stage = lock.stages[name];
    const toolId = `#stage/${name}`;
    const toolInputs: Ref[] = [];
    for (const [key, value] of Object.entries(stage.params)) {
      add({ '@id': `${toolId}/param/${key}`, '@type': 'FormalParameter', name: key, additionalType: dataType(value) });
      toolInputs.push(ref(`${toolId}/param/${key}`));
    }
    for (const [local, input] of Object.entries(stage.inputs)) {
      const upstream = lock.stages[splitRef(input.from)[0]]?.outs[splitRef(input.from)[1]];
      add({ '@id': `${toolId}/input/${local}`, '@type': 'FormalParameter', name: local, additionalType: upstream?.kind === 'dir' ? 'Dataset' : 'File', description: `input ${local} ← ${input.from}` });
      toolInputs.push(ref(`${toolId}/input/${local}`));
    }
    for (const dep of stage.deps) {
      add({ '@id': `${toolId}/dep/${fileId(dep.path)}`, '@type': 'FormalParameter', name: dep.path, additionalType: 'File' });
      toolInputs.push(ref(`${toolId}/dep/${fileId(dep.path)}`));
    }
    const toolOutputs: Ref[] = [];
    for (const [out, locked] of Object.entries(stage.outs)) {
      add({ '@id': `${toolId}/out/${out}`, '@type': 'FormalParameter', name: out, additionalType: locked.kind === 'dir' ? 'Dataset' : 'File' });
      toolOutputs.push(ref(`${toolId}/out/${out}`));
    }
    add({
      '@id': toolId, '@type': 'SoftwareApplication', name: `stage ${name}`,
      description: stage.code.module ? `TypeScript stage module ${stage.code.module}` : `command ${JSON.stringify(stage.code.cmd ?? [])}`,
      // the files whose bytes made the stage's code hash
      hasPart: stage.code.files.map((f) => ref(fileId(f.path))),
      identifier: stage.code.hash,
      input: toolInputs,
      output: toolOutputs,
    });
    tools.push(ref(toolId));
    add({ '@id': `#step/${name}`, '@type': 'HowToStep', name, position: String(position), workExample: ref(toolId) });
    steps.push(ref(`#step/${name}`));
    for (const f of stage.code.files) add({ '@id': fileId(f.path), '@type': ['File', 'SoftwareSourceCode'] });
  });

  add({
    '@id': workflowId, '@type': ['File', 'SoftwareSourceCode', 'ComputationalWorkflow', 'HowTo'], name: pipelinePath,
    programmingLanguage: ref('#spillway-pipeline'), input: workflowInputs, output: workflowOutputs, hasPart: tools, step: steps,
  });

  // ---- what happened (retrospective provenance) ----
  const controls: Ref[] = [];
  const workflowResults: Ref[] = [];
  for (const name of order) {
    const stage = lock.stages[name];
    const toolId = `#stage/${name}`;
    const objects: Ref[] = [];
    for (const [local, input] of Object.entries(stage.inputs)) {
      const [up, out] = splitRef(input.from);
      const produced = lock.stages[up]?.outs[out];
      if (!produced) continue;
      const id = outputEntityId(produced);
      add({ '@id': id, '@type': produced.kind === 'dir' ? 'Dataset' : 'File', exampleOfWork: [ref(`${toolId}/input/${local}`)] });
      objects.push(ref(id));
    }
    for (const dep of stage.deps) {
      add({ '@id': rawId(dep.path), '@type': 'File', exampleOfWork: [ref(`${toolId}/dep/${fileId(dep.path)}`), ref(`#input/${fileId(dep.path)}`)] });
      objects.push(ref(rawId(dep.path)));
    }
    for (const [key, value] of Object.entries(stage.params)) {
      const pv = `#pv/${name}/${key}`;
      add({ '@id': pv, '@type': 'PropertyValue', name: key, value: propertyValue(value), exampleOfWork: [ref(`${toolId}/param/${key}`), ref(`#param/${key}`)] });
      objects.push(ref(pv));
    }
    const results: Ref[] = [];
    for (const [out, locked] of Object.entries(stage.outs)) {
      const id = outputEntityId(locked);
      if (locked.kind === 'dir') {
        add({ '@id': id, '@type': 'Dataset', name: locked.path, hasPart: (locked.files ?? []).map((f) => ref(fileId(dirFilePath(locked, f.path)))), identifier: locked.hash });
      }
      add({ '@id': id, '@type': locked.kind === 'dir' ? 'Dataset' : 'File', exampleOfWork: [ref(`${toolId}/out/${out}`), ref(outputRef(name, out))], ...(locked.schema ? { conformsTo: ref(fileId(locked.schema.path)) } : {}) });
      if (locked.object && files.has(locked.object) && locked.object !== locked.path) {
        add({ '@id': fileId(locked.object), '@type': 'File', description: `content-addressed store copy of ${name}.${out}` });
      }
      results.push(ref(id));
      workflowResults.push(ref(id));
    }
    const actionId = `#run/${name}`;
    add({
      '@id': actionId, '@type': 'CreateAction', name: `Run of stage ${name}`,
      description: `cache key ${stage.key}; engine ${stage.run.engine_version}, Node ${stage.run.node_version}, ${stage.run.platform}`,
      startTime: stage.run.started, endTime: stage.run.ended, instrument: ref(toolId), object: objects, result: results,
      actionStatus: ref('http://schema.org/CompletedActionStatus'),
    });
    add({ '@id': `#control/${name}`, '@type': 'ControlAction', name: `orchestrate stage ${name}`, instrument: ref(`#step/${name}`), object: ref(actionId) });
    controls.push(ref(`#control/${name}`));
  }

  const starts = order.map((n) => lock.stages[n].run.started).sort();
  const ends = order.map((n) => lock.stages[n].run.ended).sort();
  const workflowObjects: Ref[] = [
    ...rawPaths.map((p) => ref(rawId(p))),
    ...[...workflowParams].sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => {
      add({ '@id': `#pv/${key}`, '@type': 'PropertyValue', name: key, value: propertyValue(value), exampleOfWork: ref(`#param/${key}`) });
      return ref(`#pv/${key}`);
    }),
  ];
  add({
    '@id': '#workflow-run', '@type': 'CreateAction', name: `Run of ${pipelinePath}`,
    description: 'The latest recorded run of every stage, as pipeline.lock holds it: stages whose inputs did not change were reused from earlier runs (content-addressed cache), so this run is the composition of the stage runs below.',
    instrument: ref(workflowId), object: workflowObjects, result: workflowResults,
    ...(starts.length ? { startTime: starts[0], endTime: ends[ends.length - 1] } : {}),
    actionStatus: ref('http://schema.org/CompletedActionStatus'),
  });
  const engineVersions = [...new Set(order.map((n) => lock.stages[n].run.engine_version))];
  add({ '@id': '#spillway', '@type': 'SoftwareApplication', name: 'spillway', softwareVersion: engineVersions.join(', ') || input.spillwayVersion, description: 'content-hashed pipeline engine that ran the stages' });
  add({
    '@id': '#spillway-organize', '@type': 'OrganizeAction', name: `Run of spillway ${engineVersions.join(', ')}`,
    instrument: ref('#spillway'), object: controls, result: ref('#workflow-run'), ...(starts.length ? { startTime: starts[0], endTime: ends[ends.length - 1] } : {}),
  });

  // ---- root and descriptor ----
  for (const [id, name, version] of [
    [PROFILES.process, 'Process Run Crate', '0.5'], [PROFILES.workflow, 'Workflow Run Crate', '0.5'],
    [PROFILES.provenance, 'Provenance Run Crate', '0.5'], [PROFILES.workflowRoCrate, 'Workflow RO-Crate', '1.0'],
  ] as const) add({ '@id': id, '@type': 'CreativeWork', name, version });
  const licenseId = input.license.includes('://') ? input.license : input.license ? `https://spdx.org/licenses/${input.license}` : '#license-not-specified';
  add({ '@id': licenseId, '@type': 'CreativeWork', name: input.license || 'License not specified', ...(licenseId.startsWith('#') ? { description: 'The exporting project declares no license.' } : {}) });

  const topFiles = [...files.keys()].filter((p) => !isInsideDirOutput(lock, p)).sort().map((p) => ref(fileId(p)));
  const dirOutputs = order.flatMap((n) => Object.values(lock.stages[n].outs).filter((o) => o.kind === 'dir').map((o) => ref(outputEntityId(o))));
  const root: Entity = {
    '@id': './', '@type': 'Dataset', name: input.name, description: input.description, datePublished: input.datePublished,
    license: ref(licenseId), conformsTo: [ref(PROFILES.process), ref(PROFILES.workflow), ref(PROFILES.provenance), ref(PROFILES.workflowRoCrate)],
    mainEntity: ref(workflowId), hasPart: [...topFiles, ...dirOutputs], mentions: [ref('#workflow-run'), ref('#spillway-organize')],
  };
  const descriptor: Entity = {
    '@id': 'ro-crate-metadata.json', '@type': 'CreativeWork', about: ref('./'),
    conformsTo: [ref(PROFILES.roCrate), ref(PROFILES.workflowRoCrate)],
  };
  return { '@context': RO_CRATE_CONTEXT, '@graph': [descriptor, root, ...[...graph.values()]] };
}

export function outputEntityId(out: LockedOutput): string {
  return out.kind === 'dir' ? `${fileId(out.path.replace(/\/+$/, ''))}/` : fileId(out.path);
}

function isInsideDirOutput(lock: Lockfile, relative: string): boolean {
  return Object.values(lock.stages).some((s) => Object.values(s.outs).some((o) => o.kind === 'dir' && relative.startsWith(`${o.path.replace(/\/+$/, '')}/`)));
}

/** Merges two descriptions of one entity: types and references are unioned. */
function mergeEntities(a: Entity, b: Entity): Entity {
  const merged: Entity = { ...a };
  const types = new Set([...[a['@type']].flat(), ...[b['@type']].flat()]);
  merged['@type'] = types.size === 1 ? [...types][0] : [...types];
  for (const [key, value] of Object.entries(b)) {
    if (key === '@id' || key === '@type') continue;
    const current = merged[key];
    if (current === undefined) merged[key] = value;
    else if (Array.isArray(current) || Array.isArray(value)) {
      const all = [...[current].flat(), ...[value].flat()];
      const seen = new Set<string>();
      merged[key] = all.filter((v) => {
        const k = JSON.stringify(v);
        if (seen.has(k)) return false;
        seen.add(k);
        return true;
      });
    }
  }
  return merged;
}
