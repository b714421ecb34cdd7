// stageStatus: which stages are stale and why, diffed component by component against the lockfile. Read-only: it
// computes keys exactly as a run would (same code), without taking the project lock or running anything.
import { loadPipeline, type Pipeline } from './pipeline.js';
import type { StaleReason } from './fingerprint.js';
import { runPipeline } from './runner.js';

export type StageState = 'up-to-date' | 'stale' | 'upstream-stale' | 'restorable';

export interface StageStatus {
  stage: string;
  /**
   * up-to-date: the lockfile entry matches; stale: something it depends on changed (see reasons);
   * upstream-stale: only an upstream stage is stale, so this one re-runs if that one's outputs change;
   * restorable: stale against the lockfile, but an earlier run with the same key is in the run cache; or up to date
   * with store objects that are damaged or missing but that a run re-stores from their intact readable copies.
   */
  state: StageState;
  key: string;
  reasons: StaleReason[];
  reason: string;
  /** set when the key could not be computed (e.g. a dep is missing) */
  error?: string;
}

export interface StatusReport {
  pipeline: string;
  stale: number;
  stages: StageStatus[];
}

export async function stageStatus(pipelineFile: string, options: { overrides?: string[]; targets?: string[]; pipeline?: Pipeline } = {}): Promise<StatusReport> {
  const pipeline = options.pipeline ?? (await loadPipeline(pipelineFile, { overrides: options.overrides }));
  const report = await runPipeline({ pipelineFile, pipeline, targets: options.targets, dryRun: true, jobs: 1 });
  const stages: StageStatus[] = report.stages.map((s) => {
    const reasons = s.reasons ?? [];
    let state: StageState;
    if (s.status === 'cached') {
      // damaged store objects that a run will re-store from intact copies make a stage restorable, not up to date
      state = s.restored || (s.repairs ?? []).length > 0 ? 'restorable' : 'up-to-date';
      for (const repair of s.repairs ?? []) reasons.push({ component: 'output', message: repair });
    }
    else if (s.status === 'skipped') {
      state = 'upstream-stale';
      reasons.push({ component: 'upstream', message: s.reason });
    }
    else if (reasons.length > 0 && reasons.every((r) => r.component === 'upstream')) state = 'upstream-stale';
    else state = 'stale';
    return { stage: s.stage, state, key: s.key, reasons, reason: s.reason, ...(s.error ? { error: s.error } : {}) };
  });
  return { pipeline: pipeline.file, stale: stages.filter((s) => s.state !== 'up-to-date').length, stages };
}
