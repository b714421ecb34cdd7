// A temp copy of the replication (pipeline.yaml, stages, schemas, src, sweeps) with the tiny hand-made dataset of
// test/fixtures/tiny-dataset, or the embedded dataset, as its raw data, for sweeps of the real stages.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../engine/helpers.js';

/** ingest and lag years the tiny dataset covers (see its README) */
export const TINY_SET = { 'ingest.years': [1999, 2001], 'lag.estimation_years': [2000, 2001] };

/** A temp copy of the replication with its embedded dataset (data/raw): every model of Table 4 can be fitted on it. */
export function embeddedReplication(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-robustness-'));
  for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'sweeps', 'package.json', 'tsconfig.json', 'data']) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

export function tinyReplication(): string {
  const dir = mkdtempSync(join(tmpdir(), 'spillway-robustness-'));
  for (const p of ['pipeline.yaml', 'stages', 'schemas', 'src', 'sweeps', 'package.json', 'tsconfig.json']) cpSync(join(repoRoot, p), join(dir, p), { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'data/raw'), { recursive: true });
  mkdirSync(join(dir, 'data/paper'), { recursive: true });
  cpSync(join(repoRoot, 'data/paper'), join(dir, 'data/paper'), { recursive: true });
  const tiny = join(repoRoot, 'test/fixtures/tiny-dataset');
  for (const f of readdirSync(tiny)) cpSync(join(tiny, f), join(dir, 'data/raw', f));
  return dir;
}
