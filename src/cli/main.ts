// The CLI boundary: dispatches to one command module, turns errors into one message and an exit code.
import { readFileSync } from 'node:fs';
import { ExitCode, isSpillwayError } from '../errors.js';
import { onStdout, writeStdout } from './output.js';

export { runOutcome } from './output.js';

export type CommandMain = (argv: string[]) => Promise<number>;

/** Each command lives in its own module, loaded only when called, so that `spillway run` starts fast. */
const commands: Record<string, { summary: string; load: () => Promise<{ main: CommandMain }> }> = {
  run: { summary: 'run the pipeline (or the named stages and what they need)', load: () => import('./commands/run.js') },
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
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: spillway <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun \`spillway <command> --help\` for a command's options. Every command that reports results takes --json.`;
}

export async function main(argv: string[]): Promise<number> {
  // `spillway status | head`: a closed pipe ends the command quietly instead of crashing it (on the stream's first
  // use: a no-op run does not create it, see output.ts).
  onStdout((stdout) =>
    stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      throw error;
    }),
  );
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === '-V') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    writeStdout(`spillway ${pkg.version}\n`);
    return ExitCode.ok;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`spillway: unknown command "${name}"\n\n${usage()}\n`);
    return ExitCode.usage;
  }
  try {
    const mod = await command.load();
    return await mod.main(rest);
  } catch (error) {
    return reportError(error, rest.includes('--json'));
  }
}

/** The single place where an error becomes text (or JSON) on stderr and an exit code. */
export function reportError(error: unknown, json: boolean): number {
  if (isSpillwayError(error)) {
    if (json) process.stdout.write(JSON.stringify(error.toJSON()) + '\n');
    process.stderr.write(`spillway: ${error.format()}\n`);
    return error.exitCode;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) process.stdout.write(JSON.stringify({ error: 'internal', message: String(error), exit_code: ExitCode.internal }) + '\n');
  process.stderr.write(`spillway: internal error (please report it):\n${text}\n`);
  return ExitCode.internal;
}
