// The CLI entry for `spillway run` alone. scripts/bundle-cli.mjs bundles it on its own (dist/cli-run.bundle.cjs, a
// third of the whole CLI's bundle), and bin/spillway.js runs that bundle for a `run`: a no-op run then reads, compiles
// and initialises only the modules a run can reach. The whole CLI (main.ts) lists the same command.
import { dispatch, type Command } from './dispatch.js';

export { runOutcome } from './output.js';

export const runCommand: Command = { summary: 'run the pipeline (or the named stages and what they need)', load: () => import('./commands/run.js') };

/** `argv` as for main.ts's main: the command name first (here always "run"). */
export function main(argv: string[]): Promise<number> {
  return dispatch(argv, { run: runCommand });
}
