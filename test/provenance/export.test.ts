import ajvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audit } from '../../src/provenance/audit.js';
import { exportPackage } from '../../src/provenance/export.js';
import { projectFromPipelineFile } from '../../src/provenance/project.js';
import { buildFixture, flipByte, type Fixture } from './fixture.js';

// ajv and ajv-formats are CommonJS: under NodeNext the default import is module.exports, whose `default` is the export
const Ajv = ajvModule.default;
const addFormats = addFormatsModule.default;

const schemaDir = path.resolve(import.meta.dirname, '../../schemas/provenance');
async function validator(name: string) {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(await readFile(path.join(schemaDir, name), 'utf8')));
}

type Entity = Record<string, unknown> & { '@id': string; '@type': string | string[] };
const types = (e: Entity) => [e['@type']].flat();
const refsIn = (value: unknown): string[] => {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o['@id'] === 'string') return [o['@id']];
    return Object.entries(o).filter(([k]) => k !== '@id').flatMap(([, v]) => refsIn(v));
  }
  return [];
};
const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

let fx: Fixture;
let out: string;
const project = () => projectFromPipelineFile(path.join(fx.root, 'pipeline.yaml'));
const now = new Date('2026-11-28T10:00:00.000Z');

beforeEach(async () => {
  fx = await buildFixture();
  out = path.join(await mkdtemp(path.join(tmpdir(), 'spillway-export-')), 'package');
});
afterEach(async () => {
  await rm(fx.root, { recursive: true, force: true });
  await rm(path.dirname(out), { recursive: true, force: true });
});

describe('export', () => {
  it('writes a package whose RO-Crate validates, whose references resolve and whose checksums are true', async () => {
    const report = await exportPackage(project(), out, { spillwayVersion: '0.1.0', now });
    expect(report.with_data).toBe(false);
    expect(report.raw_inputs.map((r) => [r.path, r.included])).toEqual([['data/raw/patents.csv', false], ['data/raw/regions.csv', false]]);

    const crate = JSON.parse(await readFile(path.join(out, 'ro-crate-metadata.json'), 'utf8')) as { '@graph': Entity[] };
    const validate = await validator('ro-crate-metadata.schema.json');
    expect(validate(crate), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);

    const byId = new Map(crate['@graph'].map((e) => [e['@id'], e]));
    expect(byId.size).toBe(crate['@graph'].length); // RO-Crate: @id unique in the flattened graph
    for (const e of crate['@graph']) {
      for (const r of refsIn(e)) expect(byId.has(r) || /^https?:\/\//.test(r), `${e['@id']} → ${r}`).toBe(true);
    }
    // every File data entity is in the package with the bytes its sha256 and contentSize claim
    const files = crate['@graph'].filter((e) => types(e).includes('File') && !e['@id'].startsWith('#'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const onDisk = path.join(out, decodeURIComponent(f['@id']));
      expect(await sha256(onDisk), f['@id']).toBe(f.sha256);
      expect(String((await readFile(onDisk)).length)).toBe(f.contentSize);
    }
    // the raw inputs are described by checksum only
    const raw = byId.get('#raw/data/raw/patents.csv')!;
    expect(raw.sha256).toBe(fx.lock.stages.ingest.deps[0].hash.slice(7));

    // Workflow Run Crate: main entity is the workflow, run as a CreateAction with it as instrument
    const root = byId.get('./')!;
    expect(root.mainEntity).toEqual({ '@id': 'pipeline.yaml' });
    const workflowRun = byId.get('#workflow-run')!;
    expect(workflowRun.instrument).toEqual({ '@id': 'pipeline.yaml' });
    expect(workflowRun.startTime).toBe('2026-11-28T09:00:00.000Z');
    // each stage run: object = inputs, deps and param values; result = outputs
    const model = byId.get('#run/model')!;
    expect(model).toMatchObject({ '@type': 'CreateAction', instrument: { '@id': '#stage/model' }, startTime: '2026-11-28T09:00:01.300Z', result: [{ '@id': 'artifacts/out/model/fit.json' }] });
    expect(refsIn(model.object).sort()).toEqual(['#pv/model/model.k', '#pv/model/model.weights', 'artifacts/out/ingest/panel.json']);
    expect(byId.get('#pv/model/model.k')).toMatchObject({ '@type': 'PropertyValue', name: 'model.k', value: 3 });
    expect(byId.get('#pv/model/model.weights')).toMatchObject({ value: '[1,2]' });
    expect(byId.get('#param/model.weights')).toMatchObject({ '@type': 'FormalParameter', additionalType: 'PropertyValue' });
    expect(refsIn(byId.get('#run/ingest')!.object)).toContain('#raw/data/raw/regions.csv');
    const report_ = byId.get('#run/report')!;
    expect(report_.result).toEqual([{ '@id': 'report/' }]);
    expect(refsIn(byId.get('report/')!.hasPart).sort()).toEqual(['report/index.html', 'report/table.csv']);
    // Provenance Run Crate: steps, control actions and the engine's organize action
    expect(byId.get('#control/model')).toMatchObject({ '@type': 'ControlAction', instrument: { '@id': '#step/model' }, object: { '@id': '#run/model' } });
    expect(refsIn(byId.get('#spillway-organize')!.object)).toEqual(['#control/ingest', '#control/model', '#control/report']);

    // raw-inputs.sha256 is what sha256sum would print for the project's raw files
    const checksums = await readFile(path.join(out, 'raw-inputs.sha256'), 'utf8');
    expect(checksums).toBe(
      `${await sha256(path.join(fx.root, 'data/raw/patents.csv'))}  data/raw/patents.csv\n${await sha256(path.join(fx.root, 'data/raw/regions.csv'))}  data/raw/regions.csv\n`,
    );
  });

  it('writes PROV-JSON that validates and whose relations name declared records', async () => {
    await exportPackage(project(), out, { spillwayVersion: '0.1.0', now });
    const prov = JSON.parse(await readFile(path.join(out, 'prov.json'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    const validate = await validator('prov-json.schema.json');
    expect(validate(prov), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(prov.prefix.pkg).toMatch(/^arcp:\/\/ni,sha-256;[A-Za-z0-9_-]{43}\/$/);

    const declared = new Set(['prov', 'xsd', ...Object.keys(prov.prefix)]);
    const records = { entity: new Set(Object.keys(prov.entity)), activity: new Set(Object.keys(prov.activity)), agent: new Set(Object.keys(prov.agent)) };
    for (const id of [...records.entity, ...records.activity, ...records.agent]) expect(declared.has(id.split(':')[0]), id).toBe(true);
    const check = (relation: string, field: string, kind: keyof typeof records) => {
      for (const r of Object.values(prov[relation] ?? {})) for (const id of [r[field]].flat()) expect(records[kind].has(id as string), `${relation}.${field} ${id}`).toBe(true);
    };
    check('used', 'prov:activity', 'activity');
    check('used', 'prov:entity', 'entity');
    check('wasGeneratedBy', 'prov:entity', 'entity');
    check('wasGeneratedBy', 'prov:activity', 'activity');
    check('wasAssociatedWith', 'prov:agent', 'agent');
    check('wasAssociatedWith', 'prov:plan', 'entity');
    check('wasDerivedFrom', 'prov:generatedEntity', 'entity');
    check('wasDerivedFrom', 'prov:usedEntity', 'entity');
    check('hadMember', 'prov:entity', 'entity');

    const fit = 'pkg:artifacts/out/model/fit.json';
    const generation = Object.values(prov.wasGeneratedBy).find((g) => g['prov:entity'] === fit)!;
    expect(generation).toEqual({ 'prov:entity': fit, 'prov:activity': 'pkg:run/model', 'prov:time': fx.lock.stages.model.run.ended });
    const derivedFrom = Object.values(prov.wasDerivedFrom).filter((d) => d['prov:generatedEntity'] === fit).map((d) => d['prov:usedEntity']).sort();
    expect(derivedFrom).toEqual(['pkg:artifacts/out/ingest/panel.json', 'pkg:param/model/model.k', 'pkg:param/model/model.weights']);
    expect(prov.entity['pkg:param/model/model.k']['prov:value']).toBe(3);
    expect(prov.entity['pkg:data/raw/regions.csv']['wfrun:sha256']).toBe(fx.lock.stages.ingest.deps[1].hash.slice(7));
    expect(prov.activity['pkg:run/ingest']).toMatchObject({ 'prov:startTime': '2026-11-28T09:00:00.000Z', 'schema:duration': { $: 'PT1.250S', type: 'xsd:duration' } });
  });

  it('the schemas reject what the specifications forbid', async () => {
    await exportPackage(project(), out, { spillwayVersion: '0.1.0', now });
    const crate = JSON.parse(await readFile(path.join(out, 'ro-crate-metadata.json'), 'utf8')) as { '@graph': Entity[] };
    const validate = await validator('ro-crate-metadata.schema.json');
    const broken = structuredClone(crate);
    delete broken['@graph'].find((e) => e['@id'] === 'report/table.csv')!.sha256;
    expect(validate(broken)).toBe(false);
    const noInstrument = structuredClone(crate);
    delete noInstrument['@graph'].find((e) => e['@id'] === '#run/model')!.instrument;
    expect(validate(noInstrument)).toBe(false);
    const noLicense = structuredClone(crate);
    delete noLicense['@graph'].find((e) => e['@id'] === './')!.license;
    expect(validate(noLicense)).toBe(false);

    const prov = JSON.parse(await readFile(path.join(out, 'prov.json'), 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    const validateProv = await validator('prov-json.schema.json');
    const badTime = structuredClone(prov);
    Object.values(badTime.activity)[0]['prov:startTime'] = 'yesterday';
    expect(validateProv(badTime)).toBe(false);
    const badRelation = structuredClone(prov);
    delete Object.values(badRelation.wasDerivedFrom)[0]['prov:usedEntity'];
    expect(validateProv(badRelation)).toBe(false);
  });

  it('is verified by audit inside the package; a flipped byte in the package is caught', async () => {
    await exportPackage(project(), out, { spillwayVersion: '0.1.0', now });
    const inside = projectFromPipelineFile(path.join(out, 'pipeline.yaml'));
    const report = await audit(inside, { depsNotPackaged: true });
    expect(report.findings.filter((f) => f.kind !== 'not_packaged')).toEqual([]);
    expect(report.ok).toBe(true);
    await flipByte(out, 'artifacts/out/model/fit.json', 2);
    const after = await audit(inside, { depsNotPackaged: true });
    expect(after.ok).toBe(false);
    expect(after.findings.find((f) => f.kind === 'corrupted')).toMatchObject({ stage: 'model', path: 'artifacts/out/model/fit.json' });
  });

  it('with --with-data includes the raw files, and audit passes strictly', async () => {
    await exportPackage(project(), out, { spillwayVersion: '0.1.0', now, withData: true });
    expect(await readFile(path.join(out, 'data/raw/regions.csv'), 'utf8')).toBe('code,name\nCN-BJ,Beijing\nCN-SH,Shanghai\n');
    const report = await audit(projectFromPipelineFile(path.join(out, 'pipeline.yaml')));
    expect(report.findings).toEqual([]);
    const crate = JSON.parse(await readFile(path.join(out, 'ro-crate-metadata.json'), 'utf8')) as { '@graph': Entity[] };
    const root = crate['@graph'].find((e) => e['@id'] === './')!;
    expect(refsIn(root.hasPart)).toContain('data/raw/regions.csv');
    expect(crate['@graph'].some((e) => e['@id'].startsWith('#raw/'))).toBe(false);
  });

  it('refuses to export corrupted or stale results, and never writes into a non-empty directory', async () => {
    await flipByte(fx.root, fx.lock.stages.ingest.outs.panel.object, 1);
    await expect(exportPackage(project(), out, { spillwayVersion: '0.1.0' })).rejects.toMatchObject({ kind: 'auditFailed', message: expect.stringContaining('bytes do not match') });
    await expect(exportPackage(project(), out, { spillwayVersion: '0.1.0', allowStale: true })).rejects.toMatchObject({ kind: 'auditFailed' });

    const fresh = await buildFixture();
    try {
      await writeFile(path.join(fresh.root, 'data/raw/patents.csv'), 'id,year,region\n');
      const freshProject = projectFromPipelineFile(path.join(fresh.root, 'pipeline.yaml'));
      await expect(exportPackage(freshProject, out, { spillwayVersion: '0.1.0' })).rejects.toMatchObject({ kind: 'auditFailed', details: { hint: expect.stringContaining('--allow-stale') } });
      await exportPackage(freshProject, out, { spillwayVersion: '0.1.0', allowStale: true });
      await expect(exportPackage(freshProject, out, { spillwayVersion: '0.1.0' })).rejects.toMatchObject({ kind: 'usage', message: expect.stringContaining('not empty') });
    } finally {
      await rm(fresh.root, { recursive: true, force: true });
    }
  });
});

// The PROV Python library (by the authors of the PROV-JSON submission; Debian package python3-prov) as an
// independent reader, where the machine has it.
const provPython = (() => {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import prov.model'], { encoding: 'utf8' });
    if (probe.status === 0) return python;
  }
  return undefined;
})();

describe('PROV-JSON read back by the reference implementation', () => {
  it.skipIf(!provPython)('python prov parses every record and identifier we wrote', async () => {
    await exportPackage(project(), out, { spillwayVersion: '0.1.0', now });
    const script = [
      'import json, sys',
      'from prov.model import ProvDocument',
      'doc = ProvDocument.deserialize(sys.argv[1], format="json")',
      'kinds = {}',
      'for r in doc.get_records():',
      '    kinds[r.get_type().localpart] = kinds.get(r.get_type().localpart, 0) + 1',
      'print(json.dumps({"kinds": kinds, "entities": sorted(str(r.identifier) for r in doc.get_records() if r.is_element() and r.get_type().localpart == "Entity")}))',
    ].join('\n');
    const result = spawnSync(provPython!, ['-c', script, path.join(out, 'prov.json')], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout) as { kinds: Record<string, number>; entities: string[] };
    const prov = JSON.parse(await readFile(path.join(out, 'prov.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    expect(parsed.kinds).toEqual({
      Entity: Object.keys(prov.entity).length,
      Activity: Object.keys(prov.activity).length,
      Agent: Object.keys(prov.agent).length,
      Usage: Object.keys(prov.used).length,
      Generation: Object.keys(prov.wasGeneratedBy).length,
      Association: Object.keys(prov.wasAssociatedWith).length,
      Derivation: Object.keys(prov.wasDerivedFrom).length,
      Membership: Object.keys(prov.hadMember).length,
    });
    expect(parsed.entities).toEqual(Object.keys(prov.entity).sort());
  });
});
