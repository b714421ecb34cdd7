// The sweep summary must stay inside the project (docs/variants.md: "A path outside the project stops the sweep before
// anything runs"), also through a symlinked directory: `--summary results/s.json` with results/ a link to a directory
// elsewhere used to write the file there (the outputs' fence, issue 9, refuses the same for stage outputs).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { summaryPath } from '../../src/engine/sweep-summary.js';
import { SpillwayError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'spillway-summarypath-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('a summary path whose directory leads out of the project through a symlink is refused', () => {
  const project = join(dir, 'project');
  const elsewhere = join(dir, 'elsewhere');
  mkdirSync(join(project, 'inside'), { recursive: true });
  mkdirSync(elsewhere);
  symlinkSync(elsewhere, join(project, 'results'));
  symlinkSync(join(project, 'inside'), join(project, 'local-link'));
  expect(summaryPath(project, 'out/new/s.json')).toBe(join(project, 'out/new/s.json')); // not there yet: fine
  expect(summaryPath(project, 'local-link/s.json')).toBe(join(project, 'local-link/s.json')); // a link inside: fine
  for (const path of ['results/s.json', 'results/deeper/s.json', '../s.json']) {
    let error: unknown;
    try {
      summaryPath(project, path);
    } catch (e) {
      error = e;
    }
    expect(error, path).toBeInstanceOf(SpillwayError);
    expect((error as SpillwayError).message).toMatch(/outside the project/);
  }
});
