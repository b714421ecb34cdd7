// An engine process for the test of an engine killed mid-run: runPipeline with the SLURM executor on a pipeline file.
// The test kills it with SIGKILL once its jobs are submitted.
// Usage: node --import tsx test/cluster/run-driver.ts <pipeline.yaml>
import { dirname } from 'node:path';
import { runPipeline } from '../../src/engine/index.js';
import { DEFAULT_CONFIG } from '../../src/engine/executors/slurm-config.js';
import { SlurmExecutor } from '../../src/engine/executors/slurm.js';

const pipelineFile = process.argv[2];
const executor = new SlurmExecutor({ root: dirname(pipelineFile), config: { ...DEFAULT_CONFIG, pollIntervalMs: 500 } });
try {
  const report = await runPipeline({ pipelineFile, executor, jobs: executor.maxParallel });
  process.stdout.write(`finished ${report.ok}\n`);
} finally {
  await executor.close();
}
