// matrix/foreach stages: instance names, bound params, fan-in order, errors that name the stage and the axis, and the
// commands (dag, status, lineage, audit, export) on a real run of a project with instances.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeValue, gatherInputs } from '../../src/engine/expand.js';
import { loadPipeline, readLockfile, runPipeline, selectStages } from '../../src/engine/index.js';
import { isSpillwayError } from '../../src/errors.js';
import { cleanupProjects, cli, edit, read, statuses, writeProject } from '../engine/helpers.js';
import { variantProject } from './project.js';

afterAll(cleanupProjects);

const stageModule = 'export default () => ({ out: {} });\n';

/** A one-file project whose pipeline.yaml has the given stages block (and params). */
async function load(yaml: string) {
  const dir = writeProject({ 'pipeline.yaml': yaml, 'stages/s.ts': stageModule, 'schemas/any.schema.json': '{}\n' });
  return loadPipeline(join(dir, 'pipeline.yaml'), { noCache: true });
}

async function loadError(yaml: string) {
  const error = await load(yaml).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isSpillwayError(error)) throw new Error(`expected a SpillwayError, got ${String(error)}`);
  return error;
}

describe('instance names', () => {
  it('encodes values filesystem-safe and without dots', () => {
    expect(encodeValue('leading')).toBe('leading');
    expect(encodeValue(0.25)).toBe('0p25');
    expect(encodeValue(-1.5)).toBe('-1p5');
    expect(encodeValue(3)).toBe('3');
    expect(encodeValue(true)).toBe('true');
    expect(encodeValue(null)).toBe('null');
    // unsafe strings and structured values become a stable hash of their canonical JSON
    expect(encodeValue('U.S.A.')).toMatch(/^~[0-9a-f]{10}$/);
    expect(encodeValue({ b: 1, a: 2 })).toBe(encodeValue({ a: 2, b: 1 }));
    expect(encodeValue([1, 2])).not.toBe(encodeValue([2, 1]));
  });

  it('matrix: Cartesian in declaration order (first axis slowest); dotted axes by their last segment', async () => {
    const p = await load(`params: { fit: { power: 1 }, weights: { decay: 2 } }
stages:
  fit:
    run: stages/s.ts
    matrix: { sample: [all, leading], weights.decay: [1, 0.5] }
    outs: { out: { schema: schemas/any.schema.json } }
`);
    expect(p.order).toEqual(['fit@sample=all,decay=1', 'fit@sample=all,decay=0p5', 'fit@sample=leading,decay=1', 'fit@sample=leading,decay=0p5']);
    expect(p.groups).toEqual({ fit: p.order });
    const s = p.stages['fit@sample=leading,decay=0p5'];
    // an axis without a dot belongs to the stage (fit.sample); a dotted one is the param key as written
    expect(s.params).toEqual(['fit.sample', 'weights.decay']);
    expect(s.instance).toEqual({ of: 'fit', suffix: 'sample=leading,decay=0p5', params: { 'fit.sample': 'leading', 'weights.decay': 0.5 } });
    // a target may name the stage as written: it means every instance
    expect(selectStages(p, ['fit'])).toEqual(p.order);
    expect(selectStages(p, ['fit@*'])).toEqual(p.order);
  });

  it('foreach: one instance per value set, in list order; two axes with the same last segment keep their full key', async () => {
    const p = await load(`params: { a: { k: 1 }, b: { k: 1 } }
stages:
  s:
    run: stages/s.ts
    foreach:
      - { a.k: 1, b.k: 2 }
      - { a.k: 3, b.k: x y }
    outs: { out: { schema: schemas/any.schema.json } }
`);
    expect(p.order).toEqual(['s@a_k=1,b_k=2', `s@a_k=3,b_k=${encodeValue('x y')}`]);
  });
});

describe('gatherInputs', () => {
  it('collects one fan-in input as a map keyed by instance, in the order given, leaving other inputs out', () => {
    const inputs = { 'fits@sample=b': 2, one: 0, 'fits@sample=a': 1, 'fitsx@sample=c': 3 };
    const gathered = gatherInputs<number>(inputs, 'fits');
    expect(Object.entries(gathered)).toEqual([
      ['sample=b', 2],
      ['sample=a', 1],
    ]);
  });
});

describe('errors name the stage and the axis', () => {
  it('two values with one name', async () => {
    const e = await loadError(`stages:
  fit:
    run: stages/s.ts
    matrix: { sample: [all, leading], power: [1, "1"] }
    outs: { out: { schema: schemas/any.schema.json } }
`);
    expect(e.message).toBe('stage "fit", axis "power": value set 2 gives the instance name "fit@sample=all,power=1" again (as value set 1 does)');
    expect(e.details.line).toBe(4);
  });

  it('an empty axis, matrix with foreach, a bare or unknown instance reference, a shared file output, a bad metric', async () => {
    const base = (stage: string, more = '') => `stages:
  fit:
    run: stages/s.ts
${stage}    outs: { out: { schema: schemas/any.schema.json } }
${more}`;
    expect((await loadError(base('    matrix: { sample: [] }\n'))).message).toBe('stages.fit.matrix.sample must not be empty');
    expect((await loadError(base('    matrix: { sample: [a] }\n    foreach: [{ sample: b }]\n'))).message).toBe('stage "fit" declares both matrix and foreach');
    const down = (ref: string) => `  use:\n    run: stages/s.ts\n    inputs: { x: "${ref}" }\n    outs: { out: { schema: schemas/any.schema.json } }\n`;
    expect((await loadError(base('    matrix: { sample: [a, b] }\n', down('fit.out')))).message).toBe(
      'stage "use", input "x": stage "fit" is expanded into 2 instances; "fit.out" does not say which',
    );
    expect((await loadError(base('    matrix: { sample: [a, b] }\n', down('fit@sample=c.out')))).message).toBe('stage "use", input "x": no instance "fit@sample=c"');
    expect((await loadError(base('', down('fit@*.out')))).message).toBe('stage "use", input "x": stage "fit" has no matrix or foreach, so "fit@*.out" names no instance');
    const fileOut = await loadError(`stages:
  fit:
    run: stages/s.ts
    matrix: { sample: [a, b] }
    outs: { table: { file: out/table.csv } }
`);
    expect(fileOut.message).toBe('stage "fit" expands into 2 instances, but its file output "table" has one path for all of them');
    expect(fileOut.details.expected).toBe('a path containing {instance}, e.g. out/table.csv/{instance}');
    expect((await loadError(base('    metrics: { b: "nope#/x" }\n'))).message).toBe('stage "fit", metric "b": "nope" is not a JSON output of the stage');
  });

  it('{instance} in a file output path gives each instance its own file', async () => {
    const p = await load(`stages:
  fit:
    run: stages/s.ts
    matrix: { sample: [a, b] }
    outs: { table: { file: "out/{instance}/table.csv" } }
`);
    expect(p.stages['fit@sample=b'].outs[0].path).toBe('out/sample=b/table.csv');
  });
});

describe('a project with a matrix stage and a fan-in', () => {
  let dir: string;
  const pipelineFile = () => join(dir, 'pipeline.yaml');
  const log = () => readFileSync(join(dir, 'executions.log'), 'utf8').trim().split('\n');

  beforeAll(async () => {
    dir = variantProject();
    process.env.VARIANT_TEST_LOG = join(dir, 'executions.log');
    const report = await runPipeline({ pipelineFile: pipelineFile(), jobs: 2 });
    expect(report.stages.filter((s) => s.status !== 'ran')).toEqual([]);
  }, 120_000);
  afterAll(() => {
    delete process.env.VARIANT_TEST_LOG;
  });

  it('each instance ran once with its own values, and its lockfile entry records them', () => {
    expect(log().filter((l) => l.startsWith('fit')).sort()).toEqual([
      'fit sample=all power=1 offset=0 of=2 4 6',
      'fit sample=all power=2 offset=0 of=2 4 6',
      'fit sample=even power=1 offset=0 of=2 4 6',
      'fit sample=even power=2 offset=0 of=2 4 6',
      'fit sample=odd power=1 offset=0 of=2 4 6',
      'fit sample=odd power=2 offset=0 of=2 4 6',
    ]);
    const lock = readLockfile(dir);
    expect(lock?.stages['fit@sample=odd,power=2'].params).toEqual({ 'fit.offset': 0, 'fit.power': 2, 'fit.sample': 'odd' });
    // values 1,2,3 scaled by 2 → 2,4,6; "odd" keeps positions 1 and 3 (2 and 6): 2² + 6² = 40
    expect(JSON.parse(read(dir, 'artifacts/out/fit@sample=odd,power=2/result.json'))).toMatchObject({ total: 40 });
  });

  it('the fan-in sees every instance in expansion order; a single-instance input sees that one', () => {
    const table = JSON.parse(read(dir, 'artifacts/out/gather/table.json'));
    expect(table.order).toEqual([
      'fits@sample=all,power=1',
      'fits@sample=all,power=2',
      'fits@sample=odd,power=1',
      'fits@sample=odd,power=2',
      'fits@sample=even,power=1',
      'fits@sample=even,power=2',
    ]);
    // all: 2+4+6 = 12, 4+16+36 = 56; odd: 2+6 = 8, 40; even: 4, 16
    expect(table.totals).toEqual([12, 56, 8, 40, 4, 16]);
    expect(table.leading).toBe(40);
  });

  it('a param the instances share re-runs all of them; the stages above stay cached', async () => {
    edit(dir, 'pipeline.yaml', (t) => t.replace('fit: { offset: 0, power: 1 }', 'fit: { offset: 1, power: 1 }'));
    const r = await runPipeline({ pipelineFile: pipelineFile(), jobs: 2 });
    const s = statuses(r);
    expect([s.base, s.scale]).toEqual(['cached', 'cached']);
    expect(Object.entries(s).filter(([n]) => n.startsWith('fit@')).map(([, v]) => v)).toEqual(Array(6).fill('ran'));
    expect(s.gather).toBe('ran');
    // the default of an axis param does not matter to the instances: power is bound by the matrix
    edit(dir, 'pipeline.yaml', (t) => t.replace('fit: { offset: 1, power: 1 }', 'fit: { offset: 1, power: 7 }'));
    expect(Object.values(statuses(await runPipeline({ pipelineFile: pipelineFile(), jobs: 2 }))).every((v) => v === 'cached')).toBe(true);
  }, 120_000);

  it('dag, status, run STAGE, lineage, audit and export treat instances as stages', async () => {
    const dag = await cli(['dag', '--format', 'json'], dir);
    expect(dag.code).toBe(0);
    const graph = JSON.parse(dag.stdout);
    expect(graph.stages.map((s: { stage: string }) => s.stage)).toContain('fit@sample=even,power=2');
    expect(graph.edges.filter((e: { to: string }) => e.to === 'gather')).toHaveLength(7);
    const mermaid = await cli(['dag', '--format', 'mermaid'], dir);
    expect(mermaid.stdout).toContain('fit_sample_odd_power_2["fit@sample=odd,power=2"]');

    const status = await cli(['status', '--json'], dir);
    expect(JSON.parse(status.stdout).stale).toBe(0);
    writeFileSync(join(dir, 'data/numbers.csv'), 'value\n1\n2\n4\n');
    const stale = JSON.parse((await cli(['status', '--json', 'fit@sample=all,power=1'], dir)).stdout);
    expect(stale.stages.map((s: { stage: string; state: string }) => `${s.stage} ${s.state}`)).toEqual([
      'base stale',
      'scale upstream-stale',
      'fit@sample=all,power=1 upstream-stale',
    ]);
    const run = await cli(['run', 'fit', '--json'], dir);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).stages.map((s: { stage: string }) => s.stage)).toEqual([
      'base',
      'scale',
      'fit@sample=all,power=1',
      'fit@sample=all,power=2',
      'fit@sample=odd,power=1',
      'fit@sample=odd,power=2',
      'fit@sample=even,power=1',
      'fit@sample=even,power=2',
    ]);
    expect((await cli(['run'], dir)).code).toBe(0);

    const lineage = await cli(['lineage', 'fit@sample=odd,power=2.result', '--json'], dir);
    expect(lineage.code).toBe(0);
    expect(lineage.stdout).toContain('"fit.sample"');
    const audit = await cli(['audit'], dir);
    expect(audit.stdout).toContain('audit passed');
    expect(audit.code).toBe(0);
    const exported = await cli(['export', join(dir, 'package-out')], dir);
    expect(exported.code).toBe(0);
    const crate = read(dir, 'package-out/ro-crate-metadata.json');
    expect(crate).toContain('fit%40sample%3Dodd%2Cpower%3D2');
  }, 180_000);
});
