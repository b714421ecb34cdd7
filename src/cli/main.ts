// The whole CLI: every command (dispatch.ts is the boundary that runs one). bin/spillway.js runs `spillway run` from
// main-run.ts's smaller bundle when it can.
import { dispatch, usage as usageOf, type Command } from './dispatch.js';
import { runCommand } from './main-run.js';

export { runOutcome } from './output.js';
export { reportError, type CommandMain } from './dispatch.js';

/** Each command lives in its own module, loaded only when called, so that `spillway run` starts fast. */
const commands: Record<string, Command> = {
  run: runCommand,
  status: { summary: 'list stale stages and why they are stale', load: () => import('./commands/status.js') },
  dag: { summary: 'print the stage graph (text, mermaid, dot, or an HTML page coloured by state)', load: () => import('./commands/dag.js') },
  watch: { summary: 're-run affected stages when their code, params or data change', load: () => import('./commands/watch.js') },
  audit: { summary: 're-hash every recorded artifact and dep and report mismatches', load: () => import('./commands/audit.js') },
  lineage: { summary: 'print everything an output was made from (--downstream: what depends on it)', load: () => import('./commands/lineage.js') },
  export: { summary: 'write a self-contained replication package (RO-Crate, PROV-JSON)', load: () => import('./commands/export.js') },
  init: { summary: 'create a new project that runs at once (pipeline.yaml, a Python and a TypeScript stage)', load: () => import('./commands/init.js') },
  gc: { summary: 'remove store objects that the lockfile, recent runs and experiments do not keep', load: () => import('./commands/gc.js') },
  show: { summary: 'print an artifact (JSON, or a table for tabular ones)', load: () => import('./commands/show.js') },
  sweep: { summary: 'run a grid of param overrides as experiments sharing one store', load: () => import('./commands/sweep.js') },
  exp: { summary: 'show, diff or apply the experiments sweeps recorded', load: () => import('./commands/exp.js') },
  params: { summary: 'diff the working params against the lockfile', load: () => import('./commands/params.js') },
  fit: { summary: 'fit a count-panel model (hhg-fenb, fe-poisson, nb2) to a CSV file', load: () => import('./commands/fit.js') },
  synth: { summary: 'generate the synthetic default dataset (or run a Monte Carlo check)', load: () => import('./commands/synth.js') },
};

export function usage(): string {
  return usageOf(commands);
}

export function main(argv: string[]): Promise<number> {
  return dispatch(argv, commands);
}
