// spillway lineage TARGET [-f pipeline.yaml] [--json]
import { parseArgs } from 'node:util';
import { ExitCode, SpillwayError } from '../../errors.js';
import { downstream, formatDownstream, formatLineage, lineage } from '../../provenance/lineage.js';
import { projectFromPipelineFile, readLock, toProjectPath } from '../../provenance/project.js';

const HELP = `usage: spillway lineage TARGET [-f FILE] [--brief] [--json]
       spillway lineage --downstream TARGET [-f FILE] [--json]

Prints the tree of everything TARGET was made from, as the lockfile records it: the stages, their code hashes and
code files, the param values they used, their input artifacts and raw files with hashes, start times and durations.

TARGET is a stage output (estimate.models), a stage (estimate: all its outputs), or a file path: an output such as
report/index.html, or a raw input such as data/raw/regions.csv.

With --downstream, the reverse: every stage that reads TARGET (a raw file or directory it declares as a dep, or an
artifact it takes as an input), every stage below those, and all their outputs: what a change to TARGET reaches.

  -f, --file FILE   pipeline file (default ./pipeline.yaml)
      --downstream  list what depends on TARGET instead of what it was made from
      --brief       show each stage's code hash without the list of its code files
      --json        print the lineage as one JSON object
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { file: { type: 'string', short: 'f' }, json: { type: 'boolean' }, brief: { type: 'boolean' }, downstream: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  } catch (error) {
    throw new SpillwayError('usage', (error as Error).message, { hint: 'see `spillway lineage --help`' });
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (positionals.length !== 1) {
    throw new SpillwayError('usage', positionals.length ? 'lineage takes one TARGET' : 'lineage needs a TARGET', {
      expected: 'a stage output (estimate.models), a stage name, or a file path (report/index.html)',
    });
  }
  const project = projectFromPipelineFile(values.file ?? 'pipeline.yaml');
  const lock = await readLock(project);
  const target = positionals[0];
  if (values.downstream) {
    const result = downstream(lock, target, toProjectPath(project.root, target));
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${formatDownstream(result)}\n`);
    return ExitCode.ok;
  }
  const result = lineage(lock, target, toProjectPath(project.root, target));
  process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : `${formatLineage(result, { brief: values.brief ?? false })}\n`);
  return ExitCode.ok;
}
