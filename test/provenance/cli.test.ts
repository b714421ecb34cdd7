// audit, lineage and export through the real CLI on a project the real engine ran (`npm run build` first).
import ajvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import type { Lockfile } from '../../src/engine/lockfile-format.js';
import { makeProject, spillway } from './real-project.js';
import { flipByte } from './fixture.js';

let root: string;
let lock: Lockfile;
const sha = async (relative: string) => `sha256:${createHash('sha256').update(await readFile(path.join(root, relative))).digest('hex')}`;
const schemaPath = (name: string) => path.resolve(import.meta.dirname, '../../schemas/provenance', name);
let validateAudit: ((value: unknown) => boolean) & { errors?: unknown };
const auditJson = async (cwd = root) => {
  const result = await spillway(['audit', '--json'], cwd);
  validateAudit ??= (() => {
    const ajv = new ajvModule.default({ allErrors: true, strict: false });
    addFormatsModule.default(ajv);
    return ajv.compile(JSON.parse(readFileSync(schemaPath('audit-report.schema.json'), 'utf8')));
  })();
  // every report keeps the shape scripts rely on
  expect(validateAudit(JSON.parse(result.stdout)), JSON.stringify(validateAudit.errors)).toBe(true);
  return { code: result.code, report: JSON.parse(result.stdout) as { ok: boolean; findings: { kind: string; stage: string; subject: string; path?: string; name?: string }[] } };
};
/** edits a file, runs fn, puts the original bytes back */
const withEdit = async (relative: string, content: string, fn: () => Promise<void>) => {
  const original = await readFile(path.join(root, relative));
  await writeFile(path.join(root, relative), content);
  try {
    await fn();
  } finally {
    await writeFile(path.join(root, relative), original);
  }
};

beforeAll(async () => {
  root = await makeProject('spillway-prov-cli-');
  const run = await spillway(['run', '--json'], root);
  expect(run.code, run.stderr).toBe(0);
  lock = JSON.parse(await readFile(path.join(root, 'pipeline.lock'), 'utf8')) as Lockfile;
}, 180_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('spillway audit on a real run', () => {
  it('passes right after the run', async () => {
    const { code, report } = await auditJson();
    expect(report.findings).toEqual([]);
    expect(code).toBe(ExitCode.ok);
  });

  it('fails naming a store object with one flipped byte, and passes again once it is restored', async () => {
    const object = lock.stages.total.outs.sum.object;
    await flipByte(root, object, 4);
    const { code, report } = await auditJson();
    expect(code).toBe(ExitCode.auditFailed);
    expect(report.ok).toBe(false);
    expect(report.findings).toEqual([expect.objectContaining({ kind: 'corrupted', stage: 'total', subject: 'object', path: object })]);
    const text = await spillway(['audit'], root);
    expect(text.code).toBe(ExitCode.auditFailed);
    expect(text.stdout).toContain(`✗ corrupted    total      store object of total.sum: bytes do not match the recorded hash (${object})`);
    await flipByte(root, object, 4);
    expect((await auditJson()).code).toBe(ExitCode.ok);
  });

  it('reports the stage stale when a dep changes, and when a new file matches its dep glob', async () => {
    await withEdit('data/raw/b.csv', 'a,b\n5,6\n7,8\n', async () => {
      const { code, report } = await auditJson();
      expect(code).toBe(ExitCode.auditFailed);
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'count', subject: 'dep', path: 'data/raw/b.csv' })]);
    });
    await writeFile(path.join(root, 'data/raw/c.csv'), 'a,b\n');
    try {
      const { report } = await auditJson();
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'count', subject: 'dep', path: 'data/raw/c.csv' })]);
    } finally {
      await rm(path.join(root, 'data/raw/c.csv'));
    }
  });

  it('reports a changed param and a changed imported code file', async () => {
    await withEdit('pipeline.yaml', (await readFile(path.join(root, 'pipeline.yaml'), 'utf8')).replace('offset: 1', 'offset: 5'), async () => {
      const { report } = await auditJson();
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'stale', stage: 'total', subject: 'param', name: 'total.offset' })]);
    });
    await withEdit('lib/lines.ts', "export const dataLines = (text: string) => text.trim().split('\\n').length - 1;\n", async () => {
      const { report } = await auditJson();
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'code_changed', stage: 'count', subject: 'code', path: 'lib/lines.ts' })]);
    });
  });
});

describe('spillway lineage on a real run', () => {
  it('traces a report file back to raw files with their real hashes', async () => {
    const result = await spillway(['lineage', 'site/index.html', '--json'], root);
    expect(result.code, result.stderr).toBe(0);
    const l = JSON.parse(result.stdout) as { stages: string[]; raw_files: { path: string; hash: string }[]; made_by: { stage: string; inputs: { made_by: { params: Record<string, unknown> } }[] }[] };
    expect(l.stages).toEqual(['count', 'total', 'report']);
    expect(l.raw_files).toEqual([
      { path: 'data/raw/a.csv', hash: await sha('data/raw/a.csv'), size: 12 },
      { path: 'data/raw/b.csv', hash: await sha('data/raw/b.csv'), size: 8 },
    ]);
    expect(l.made_by[0].stage).toBe('report');
    expect(l.made_by[0].inputs[0].made_by.params).toEqual({ 'total.offset': 1 });
    const text = await spillway(['lineage', 'total.sum'], root);
    expect(text.stdout).toContain('param count.scale = 2');
    expect(text.stdout).toContain(`raw data/raw/a.csv  ${(await sha('data/raw/a.csv')).slice(0, 19)}`);
    const unknown = await spillway(['lineage', 'nope.out'], root);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.stderr).toContain('recorded outputs: count.counts, report.site, total.sum');
  });
});

describe('spillway export on a real run', () => {
  it('writes a package in which `spillway audit` succeeds, with and without the raw data', async () => {
    for (const [name, extra] of [['package', []], ['package-data', ['--with-data']]] as const) {
      const dir = path.join(root, '..', `${path.basename(root)}-${name}`);
      try {
        const result = await spillway(['export', dir, '--json', ...extra], root);
        expect(result.code, result.stderr).toBe(0);
        const summary = JSON.parse(result.stdout) as { raw_inputs: { included: boolean }[] };
        expect(summary.raw_inputs.map((r) => r.included)).toEqual(extra.length ? [true, true] : [false, false]);
        // both provenance records of a real run validate against the schemas derived from their specifications
        for (const [record, schema] of [['ro-crate-metadata.json', 'ro-crate-metadata.schema.json'], ['prov.json', 'prov-json.schema.json']]) {
          const ajv = new ajvModule.default({ allErrors: true, strict: false });
          addFormatsModule.default(ajv);
          const validate = ajv.compile(JSON.parse(await readFile(path.resolve(import.meta.dirname, '../../schemas/provenance', schema), 'utf8')));
          const valid = validate(JSON.parse(await readFile(path.join(dir, record), 'utf8')));
          expect(valid, `${record}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
        }
        const inside = await spillway(['audit', '--json'], dir);
        expect(inside.code, inside.stdout + inside.stderr).toBe(ExitCode.ok);
        const report = JSON.parse(inside.stdout) as { findings: { kind: string }[]; checked: { artifacts: number; code_files: number } };
        expect(report.findings.map((f) => f.kind)).toEqual(extra.length ? [] : ['not_packaged', 'not_packaged']);
        expect(report.checked).toMatchObject({ artifacts: 3, code_files: 4 });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    // each export packs spillway and resolves a package-lock with npm
  }, 240_000);

  it('refuses to export while a stage is stale', async () => {
    await withEdit('data/raw/a.csv', 'a,b\n', async () => {
      const dir = path.join(root, '..', `${path.basename(root)}-stale`);
      const result = await spillway(['export', dir], root);
      expect(result.code).toBe(ExitCode.auditFailed);
      expect(result.stderr).toContain('dep data/raw/a.csv of count: changed since the stage ran');
      await rm(dir, { recursive: true, force: true });
    });
  });
});
