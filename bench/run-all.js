#!/usr/bin/env node
// Runs every bench/*.js, bench/*.mjs and bench/*.ts script in turn (TypeScript through tsx), each in its own process.
// Usage: node bench/run-all.js [name-filter]     e.g. `node bench/run-all.js engine`
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const scripts = readdirSync(here)
  .filter((f) => /\.(js|mjs|ts)$/.test(f) && f !== 'run-all.js' && !f.startsWith('_') && !f.endsWith('.d.ts') && f.includes(filter))
  .sort();

let failed = 0;
for (const script of scripts) {
  process.stdout.write(`\n=== ${script} ===\n`);
  const started = Date.now();
  const args = script.endsWith('.ts') ? [join(here, '..', 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(here, script)] : [join(here, script)];
  const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: join(here, '..') });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    failed += 1;
    process.stdout.write(`=== ${script} FAILED (exit ${result.status ?? result.signal}) after ${seconds} s ===\n`);
  } else {
    process.stdout.write(`=== ${script} done in ${seconds} s ===\n`);
  }
}
process.stdout.write(`\n${scripts.length - failed}/${scripts.length} bench scripts succeeded\n`);
process.exitCode = failed > 0 ? 1 : 0;
