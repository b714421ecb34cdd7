// spillway dag: the stage graph as text, Mermaid, Graphviz dot or JSON.
import { ExitCode, SpillwayError } from '../../errors.js';
import { formatDag, type DagFormat } from '../../engine/dag.js';
import { loadPipeline } from '../../engine/pipeline.js';
import { parseCommandArgs } from '../args.js';

export const help = `usage: spillway dag [options]

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
      --format F       text (default), mermaid, dot or json
      --json           same as --format json: {"stages": [...], "edges": [{from, to, output, as}]}
  -h, --help           this text`;

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    'dag',
    argv,
    {
      file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
      format: { type: 'string', default: 'text' },
      json: { type: 'boolean', default: false },
    },
    help,
  );
  if (values.help) {
    process.stdout.write(`${help}\n`);
    return ExitCode.ok;
  }
  const format = (values.json ? 'json' : values.format) as DagFormat;
  if (!['text', 'mermaid', 'dot', 'json'].includes(format)) {
    throw new SpillwayError('usage', `--format expects text, mermaid, dot or json, got "${format}"`);
  }
  const pipeline = await loadPipeline(values.file as string);
  process.stdout.write(`${formatDag(pipeline, format)}\n`);
  return ExitCode.ok;
}
