// spillway dag: the stage graph as text, Mermaid, Graphviz dot, JSON, or an HTML page coloured by state.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, SpillwayError } from '../../errors.js';
import { dagJson, formatDag, type DagFormat } from '../../engine/dag.js';
import type { Lockfile } from '../../engine/lockfile-format.js';
import { loadPipeline, type Pipeline } from '../../engine/pipeline.js';
import { stageStatus } from '../../engine/status.js';
import { renderDagHtml, type StageView } from '../../provenance/dag-html.js';
import { lockfileFor } from '../../provenance/project.js';
import { parseCommandArgs } from '../args.js';

export const help = `usage: spillway dag [options]

options:
  -f, --file FILE      pipeline file (default: ./pipeline.yaml)
      --format F       text (default), mermaid, dot, json, or html: one self-contained page that draws the
                       graph coloured by state (up to date, stale with the reason, upstream stale,
                       restorable, failed, never run); \`spillway dag --format html > dag.html\`
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
  const format = (values.json ? 'json' : values.format) as DagFormat | 'html';
  if (!['text', 'mermaid', 'dot', 'json', 'html'].includes(format)) {
    throw new SpillwayError('usage', `--format expects text, mermaid, dot, json or html, got "${format}"`);
  }
  const pipeline = await loadPipeline(values.file as string);
  if (format === 'html') {
    const views = await stageViews(values.file as string, pipeline);
    process.stdout.write(renderDagHtml(dagJson(pipeline), views, { title: `spillway: ${pipeline.file}`, generated: new Date().toISOString() }));
    return ExitCode.ok;
  }
  process.stdout.write(`${formatDag(pipeline, format)}\n`);
  return ExitCode.ok;
}

/** The log header of a stage's last attempt (`# spillway: stage NAME, ISO-TIME, reason`), written whether it succeeded or not. */
function lastAttempt(root: string, stage: string): string | undefined {
  try {
    const first = readFileSync(join(root, '.spillway', 'logs', `${stage}.log`), 'utf8').split('\n', 1)[0];
    return /^# spillway: stage .+, (\d{4}-\d\d-\d\dT[^,]+Z), /.exec(first)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Each stage's state for drawing: status's verdict, refined with the lockfile (no entry: never run) and the run log
 * (a last attempt later than the run the lockfile records, on a stage that is not up to date: it failed).
 */
async function stageViews(pipelineFile: string, pipeline: Pipeline): Promise<StageView[]> {
  const status = await stageStatus(pipelineFile, { pipeline });
  let lock: Lockfile | undefined;
  try {
    lock = JSON.parse(readFileSync(lockfileFor(pipeline.file), 'utf8')) as Lockfile;
  } catch {
    lock = undefined;
  }
  return status.stages.map((s) => {
    const reasons = [...s.reasons.map((r) => r.message), ...(s.error ? [s.error.split('\n')[0]] : [])];
    if (s.state === 'up-to-date' || s.state === 'restorable') return { stage: s.stage, state: s.state, reasons: s.state === 'restorable' ? [s.reason] : [] };
    const recorded = lock?.stages[s.stage]?.run.started;
    const attempt = lastAttempt(pipeline.root, s.stage);
    if (attempt !== undefined && (recorded === undefined || attempt > recorded)) return { stage: s.stage, state: 'failed', reasons: [`last attempt ${attempt} failed (see .spillway/logs/${s.stage}.log)`, ...reasons] };
    if (recorded === undefined) return { stage: s.stage, state: 'never-run', reasons };
    return { stage: s.stage, state: s.state, reasons };
  });
}
