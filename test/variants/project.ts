// A small real project for the variant tests: `base` reads a data file, `scale` multiplies (scale.factor), `fit` is
// expanded over a matrix (fit.sample × fit.power) and `gather` fans every fit in. Every stage appends its name and
// key-relevant params to a log file outside the store, so tests count real executions.
import { writeProject } from '../engine/helpers.js';

const schema = '{ "type": "object" }\n';

export function variantProject(extra: Record<string, string> = {}): string {
  return writeProject({
    'data/numbers.csv': 'value\n1\n2\n3\n',
    'schemas/any.schema.json': schema,
    'lib/log.ts': `import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
export function logRun(line: string): void {
  appendFileSync(process.env.VARIANT_TEST_LOG ?? join(process.cwd(), 'executions.log'), line + '\\n');
}
`,
    'stages/base.ts': `import { readFileSync } from 'node:fs';
import { logRun } from '../lib/log.js';
export default (ctx: any) => {
  logRun('base');
  const values = readFileSync(ctx.deps[0], 'utf8').trim().split('\\n').slice(1).map(Number);
  return { numbers: { values } };
};
`,
    'stages/scale.ts': `import { logRun } from '../lib/log.js';
export default (ctx: any) => {
  const factor = ctx.param('scale.factor');
  if (typeof factor !== 'number') throw new Error('scale.factor must be a number, got ' + JSON.stringify(factor));
  logRun('scale factor=' + factor);
  return { scaled: { values: ctx.inputs.numbers.values.map((v: number) => v * factor) } };
};
`,
    'stages/fit.ts': `import { logRun } from '../lib/log.js';
export default (ctx: any) => {
  const sample = ctx.param('fit.sample');
  const power = ctx.param('fit.power');
  const offset = ctx.param('fit.offset');
  logRun('fit sample=' + sample + ' power=' + power + ' offset=' + offset + ' of=' + ctx.inputs.scaled.values.join(' '));
  const values = ctx.inputs.scaled.values.filter((v: number, i: number) => sample === 'all' || (sample === 'odd') === (i % 2 === 0));
  const total = values.reduce((s: number, v: number) => s + v ** power, 0) + offset;
  return { result: { sample, power, total, coef: { x: total / 10 } } };
};
`,
    'stages/gather.ts': `import { logRun } from '../lib/log.js';
export default (ctx: any) => {
  logRun('gather');
  const names = Object.keys(ctx.inputs).filter((n) => n.startsWith('fits@'));
  return { table: { order: names, totals: names.map((n) => ctx.inputs[n].total), leading: ctx.inputs.one.total } };
};
`,
    'pipeline.yaml': `params:
  scale: { factor: 2 }
  fit: { offset: 0, power: 1 }
stages:
  base:
    run: stages/base.ts
    deps: [data/numbers.csv]
    outs: { numbers: { schema: schemas/any.schema.json } }
  scale:
    run: stages/scale.ts
    inputs: { numbers: base.numbers }
    params: [scale.factor]
    outs: { scaled: { schema: schemas/any.schema.json } }
  fit:
    run: stages/fit.ts
    matrix:
      sample: [all, odd, even]
      power: [1, 2]
    inputs: { scaled: scale.scaled }
    params: [fit.offset]
    metrics: { total: "result#/total", b_x: "result#/coef/x" }
    outs: { result: { schema: schemas/any.schema.json } }
  gather:
    run: stages/gather.ts
    inputs: { fits: "fit@*.result", one: "fit@sample=odd,power=2.result" }
    outs: { table: { schema: schemas/any.schema.json } }
`,
    ...extra,
  });
}
