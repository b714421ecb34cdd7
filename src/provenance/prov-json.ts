// The PROV-JSON document of an exported package (W3C Member Submission "The PROV-JSON Serialization", 24 April 2013,
// https://www.w3.org/Submission/2013/SUBM-prov-json-20130424/): every artifact, raw file, code file and param value is
// an entity, every stage run an activity associated with the spillway agent under the stage's code as its plan.
import { createHash } from 'node:crypto';
import type { LockedOutput, Lockfile } from '../engine/lockfile-format.js';
import { splitRef } from './project.js';
import { topologicalStages } from './graph.js';
import { dirFilePath, mediaType, type PackagedFile } from './ro-crate.js';

type Literal = string | number | boolean | { $: string | number | boolean; type: string };
type Record_ = Record<string, Literal | Literal[]>;

export interface ProvDocument {
  prefix: Record<string, string>;
  entity: Record<string, Record_>;
  activity: Record<string, Record_>;
  agent: Record<string, Record_>;
  used: Record<string, Record_>;
  wasGeneratedBy: Record<string, Record_>;
  wasAssociatedWith: Record<string, Record_>;
  wasDerivedFrom: Record<string, Record_>;
  hadMember: Record<string, { 'prov:collection': string; 'prov:entity': string }>;
}

/**
 * Identifiers are qualified names under a package namespace. The namespace is an arcp URI (the scheme RO-Crate 1.1
 * recommends for identifiers inside a crate, https://tools.ietf.org/html/draft-soilandreyes-arcp-03) of the "ni"
 * kind, named by the hash of the lockfile, so the same lockfile always gives the same identifiers.
 */
export function packageNamespace(lockfileBytes: Buffer | string): string {
  const digest = createHash('sha256').update(lockfileBytes).digest('base64url');
  return `arcp://ni,sha-256;${digest}/`;
}

/** PROV-JSON qualified names are prefix:local; the local part is kept to characters every PROV toolkit accepts. */
function local(text: string): string {
  return text.replace(/[^A-Za-z0-9._\-/]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function buildProvJson(lock: Lockfile, options: { namespace: string; files: Map<string, PackagedFile>; absentRaw: PackagedFile[] }): ProvDocument {
  const doc: ProvDocument = {
    prefix: {
      pkg: options.namespace,
      schema: 'http://schema.org/',
      wfrun: 'https://w3id.org/ro/terms/workflow-run#',
    },
    entity: {}, activity: {}, agent: {}, used: {}, wasGeneratedBy: {}, wasAssociatedWith: {}, wasDerivedFrom: {}, hadMember: {},
  };
  const sizes = new Map<string, PackagedFile>([...options.files, ...options.absentRaw.map((f) => [f.path, f] as const)]);
  let n = 0;
  const id = (kind: string) => `_:${kind}${++n}`;

  const fileEntity = (relative: string, attributes: Record_ = {}) => {
    const key = `pkg:${local(relative)}`;
    const known = sizes.get(relative);
    doc.entity[key] = {
      ...doc.entity[key],
      'prov:label': relative,
      'schema:encodingFormat': mediaType(relative),
      ...(known ? { 'wfrun:sha256': known.sha256, 'schema:contentSize': known.size } : {}),
      ...attributes,
    };
    return key;
  };
  const outputEntity = (stage: string, name: string, out: LockedOutput) => {
    const key = fileEntity(out.path.replace(/\/+$/, ''), {
      'prov:type': out.kind === 'dir' ? { $: 'prov:Collection', type: 'xsd:QName' } : { $: 'prov:Entity', type: 'xsd:QName' },
      'schema:name': `${stage}.${name}`,
      'schema:identifier': out.hash,
    });
    if (out.kind === 'dir' && out.files?.length) {
      // PROV-DM membership is binary: one hadMember per file (PROV-JSON's list form is read back as the same)
      for (const f of out.files) doc.hadMember[id('m')] = { 'prov:collection': key, 'prov:entity': fileEntity(dirFilePath(out, f.path), { 'schema:identifier': f.hash }) };
    }
    return key;
  };

  const agent = 'pkg:agent/spillway';
  const versions = [...new Set(Object.values(lock.stages).map((s) => s.run.engine_version))];
  doc.agent[agent] = { 'prov:type': { $: 'prov:SoftwareAgent', type: 'xsd:QName' }, 'prov:label': 'spillway', 'schema:softwareVersion': versions.join(', ') };

  for (const stageName of topologicalStages(lock)) {
    const stage = lock.stages[stageName];
    const activity = `pkg:run/${local(stageName)}`;
    doc.activity[activity] = {
      'prov:startTime': stage.run.started,
      'prov:endTime': stage.run.ended,
      'prov:label': `run of stage ${stageName}`,
      'schema:identifier': stage.key,
      'schema:duration': { $: `PT${(stage.run.duration_ms / 1000).toFixed(3)}S`, type: 'xsd:duration' },
    };
    // the stage's code is its plan: what the agent followed
    const plan = `pkg:plan/${local(stageName)}`;
    doc.entity[plan] = {
      'prov:type': { $: 'prov:Plan', type: 'xsd:QName' },
      'prov:label': stage.code.module ? `stage module ${stage.code.module}` : `command ${JSON.stringify(stage.code.cmd ?? [])}`,
      'schema:identifier': stage.code.hash,
    };
    doc.wasAssociatedWith[id('assoc')] = { 'prov:activity': activity, 'prov:agent': agent, 'prov:plan': plan };
    for (const file of stage.code.files) {
      const code = fileEntity(file.path, { 'schema:identifier': file.hash });
      doc.wasDerivedFrom[id('d')] = { 'prov:generatedEntity': plan, 'prov:usedEntity': code };
    }

    const used: string[] = [];
    const use = (entity: string, role: string) => {
      doc.used[id('u')] = { 'prov:activity': activity, 'prov:entity': entity, 'prov:time': stage.run.started, 'prov:role': { $: `pkg:role/${local(role)}`, type: 'xsd:QName' } };
      used.push(entity);
    };
    for (const [localName, input] of Object.entries(stage.inputs)) {
      const [up, out] = splitRef(input.from);
      const produced = lock.stages[up]?.outs[out];
      if (produced) use(outputEntity(up, out, produced), `input/${localName}`);
    }
    for (const dep of stage.deps) use(fileEntity(dep.path, { 'schema:identifier': dep.hash, 'prov:type': { $: 'schema:Dataset', type: 'xsd:QName' } }), 'dep');
    for (const [key, value] of Object.entries(stage.params)) {
      const param = `pkg:param/${local(stageName)}/${local(key)}`;
      doc.entity[param] = {
        'prov:label': key,
        'prov:value': typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : { $: JSON.stringify(value), type: 'xsd:string' },
      };
      use(param, `param/${key}`);
    }
    for (const [name, out] of Object.entries(stage.outs)) {
      const entity = outputEntity(stageName, name, out);
      doc.wasGeneratedBy[id('g')] = { 'prov:entity': entity, 'prov:activity': activity, 'prov:time': stage.run.ended };
      for (const source of used) {
        doc.wasDerivedFrom[id('d')] = { 'prov:generatedEntity': entity, 'prov:usedEntity': source, 'prov:activity': activity };
      }
    }
  }
  // PROV-JSON leaves empty sections out
  for (const key of Object.keys(doc) as (keyof ProvDocument)[]) {
    if (key !== 'prefix' && Object.keys(doc[key]).length === 0) delete (doc as Partial<ProvDocument>)[key];
  }
  return doc;
}
