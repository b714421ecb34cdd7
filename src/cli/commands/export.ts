// spillway export DIR [--with-data] [--allow-stale] [-f pipeline.yaml] [--json]
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ExitCode, SpillwayError } from '../../errors.js';
import { exportPackage } from '../../provenance/export.js';
import { bytes } from '../../provenance/lineage.js';
import { loadPipelineView } from '../../provenance/pipeline-view.js';
import { projectFromPipelineFile } from '../../provenance/project.js';

const HELP = `usage: spillway export DIR [--with-data] [--allow-stale] [-f FILE] [--json]

Writes a self-contained replication package into DIR (new or empty): the lockfile, the pipeline file, the code and
schemas of every stage, every output (readable copy and store object), raw-inputs.sha256, and two provenance records:
ro-crate-metadata.json (RO-Crate 1.1, Workflow Run Crate profile) and prov.json (W3C PROV-JSON). Files keep their
project paths, so \`spillway audit\` run inside DIR verifies the package. The package installs on its own: spillway
is packed into vendor/, package.json pins the npm packages the stages imported at their recorded versions and
package-lock.json locks the rest (\`npm ci\`); REPLICATION.md lists the commands. Making it needs npm.

The project is audited first; an export of missing, corrupted or stale results is refused.

      --with-data     copy the raw input files too (default: only their checksums)
      --allow-stale   export even if some stages are stale (never if artifacts are missing or corrupted)
  -f, --file FILE     pipeline file (default ./pipeline.yaml)
      --json          print a summary as one JSON object
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        file: { type: 'string', short: 'f' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
        'with-data': { type: 'boolean' }, 'allow-stale': { type: 'boolean' },
      },
      allowPositionals: true,
    });
  } catch (error) {
    throw new SpillwayError('usage', (error as Error).message, { hint: 'see `spillway export --help`' });
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) throw new SpillwayError('usage', 'export needs one DIR', { expected: 'spillway export DIR' });
  const project = projectFromPipelineFile(values.file ?? 'pipeline.yaml');
  const loaded = await loadPipelineView(project.pipelineFile);
  if ('error' in loaded) throw loaded.error;
  const spillwayRoot = fileURLToPath(new URL('../../../', import.meta.url));
  const pkg = JSON.parse(await readFile(path.join(spillwayRoot, 'package.json'), 'utf8')) as { version: string };
  const report = await exportPackage(project, positionals[0], {
    withData: values['with-data'] ?? false,
    allowStale: values['allow-stale'] ?? false,
    pipeline: loaded.view,
    spillwayVersion: pkg.version,
    spillwayRoot,
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const raw = report.raw_inputs.length;
    process.stdout.write(
      [
        `exported ${report.files} file(s), ${bytes(report.bytes)} to ${report.dir}`,
        `  raw inputs: ${raw} file(s) ${report.with_data ? 'included' : 'listed in raw-inputs.sha256 (not included; --with-data copies them)'}`,
        `  provenance: ro-crate-metadata.json (RO-Crate 1.1 + Workflow Run Crate 0.5), prov.json (PROV-JSON)`,
        `  install and verify: cd ${report.dir} && npm ci && ./node_modules/.bin/spillway audit  (see REPLICATION.md)`,
        '',
      ].join('\n'),
    );
  }
  return ExitCode.ok;
}
