// The child process that runs one module stage: it is started by the engine with spillway's TypeScript hooks loaded,
// receives one job over IPC, runs it (stage-job.ts) and exits. A stage that crashes (or never returns) takes down only
// this process.
import { exitWithParent } from './orphan-guard.js';
import { errorMessage, flushOutput, runJob, send, type ModuleJob } from './stage-job.js';

export type { ModuleJob, RunnerMessage } from './stage-job.js';

process.on('disconnect', () => process.exit(1)); // the engine died: do not linger as an orphan
exitWithParent(); // … even when the stage never yields to that event
process.once('message', (job: ModuleJob) => {
  runJob(job).then(
    async (timings) => {
      await flushOutput();
      await send({ type: 'done', timings });
      process.exit(0);
    },
    async (error: unknown) => {
      await flushOutput();
      await send(errorMessage(error));
      process.exit(1);
    },
  );
});
