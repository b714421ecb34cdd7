// A small real spillway project in a temp dir: three module stages (count → total → report) reading CSV deps through
// a glob, one locally imported helper, params, a JSON schema per JSON output and a dir output. Shared by the
// provenance and watch integration tests, which run the real CLI on it.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const CLI = path.resolve(import.meta.dirname, '../../bin/spillway.js');

export const PIPELINE = `params:
  count: { scale: 2 }
  total: { offset: 1 }
stages:
  count:
    run: stages/count.ts
    deps: [data/raw/*.csv]
    params: [count.scale]
    outs:
      counts: { schema: schemas/counts.schema.json }
  total:
    run: stages/total.ts
    inputs: { counts: count.counts }
    params: [total.offset]
    outs:
      sum: { schema: schemas/sum.schema.json }
  report:
    run: stages/report.ts
    inputs: { sum: total.sum }
    outs:
      site: { dir: site }
`;

export const FILES: Record<string, string> = {
  'pipeline.yaml': PIPELINE,
  'schemas/counts.schema.json': '{"type":"object","required":["rows"],"properties":{"rows":{"type":"object","additionalProperties":{"type":"number"}}}}\n',
  'schemas/sum.schema.json': '{"type":"object","required":["sum"],"properties":{"sum":{"type":"number"}}}\n',
  'lib/lines.ts': "export const dataLines = (text: string) => text.trim().split('\\n').slice(1).length;\n",
  'stages/count.ts': [
    "import { readFileSync } from 'node:fs';",
    "import { basename } from 'node:path';",
    "import { dataLines } from '../lib/lines.js';",
    'export default (ctx: any) => {',
    '  const rows: Record<string, number> = {};',
    "  for (const dep of ctx.deps) rows[basename(dep)] = dataLines(readFileSync(dep, 'utf8')) * ctx.param('count.scale');",
    '  return { counts: { rows } };',
    '};',
    '',
  ].join('\n'),
  'stages/total.ts': "export default (ctx: any) => ({ sum: { sum: Object.values(ctx.inputs.counts.rows as Record<string, number>).reduce((a, b) => a + b, 0) + ctx.param('total.offset') } });\n",
  'stages/report.ts': [
    "import { mkdirSync, writeFileSync } from 'node:fs';",
    "import { join } from 'node:path';",
    'export default (ctx: any) => {',
    "  const dir = ctx.outPath('site');",
    '  mkdirSync(dir, { recursive: true });',
    "  writeFileSync(join(dir, 'index.html'), `<p>sum = ${ctx.inputs.sum.sum}</p>\\n`);",
    '  return {};',
    '};',
    '',
  ].join('\n'),
  'data/raw/a.csv': 'a,b\n1,2\n3,4\n',
  'data/raw/b.csv': 'a,b\n5,6\n',
};

export async function makeProject(prefix = 'spillway-real-'): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  for (const [relative, content] of Object.entries(FILES)) {
    await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
    await writeFile(path.join(root, relative), content);
  }
  return root;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/spillway.js ARGS` in cwd: a real subprocess of the built CLI. */
export function spillway(args: string[], cwd: string, timeout = 120_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd, timeout, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
