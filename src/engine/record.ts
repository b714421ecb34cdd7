// Recording what a stage run produced: the lockfile entry (derived from the same fingerprint as the cache key), the
// run-cache entry under the key, and the one writer of the ordered lockfile.
import { readFileSync } from 'node:fs';
import type { ExecutionPlace } from './executor.js';
import type { Fingerprint } from './fingerprint.js';
import { writeFileAtomic } from './fs-atomic.js';
import { seal } from './hash.js';
import { lockfileText, writeLockfileText } from './lockfile.js';
import type { Lockfile, LockedOutput, LockedStage } from './lockfile-format.js';
import { runCachePath } from './store.js';

export const ENGINE_VERSION = '0.1.0';

/** how often, at most, a running pipeline rewrites its lockfile */
export const WRITE_INTERVAL_MS = 200;

/** The lockfile entry of a finished run: every component of the key as recorded, the outputs, and where it ran. */
export function lockedEntryFor(fp: Fingerprint, outs: Record<string, LockedOutput>, started: Date, ended: Date, place: ExecutionPlace): LockedStage {
  if (fp.key === undefined) throw new Error('a stage is recorded only once its key is known');
  return {
    key: fp.key,
    code: {
      hash: fp.code.hash,
      ...(fp.code.module ? { module: fp.code.module } : {}),
      ...(fp.code.cmd ? { cmd: fp.code.cmd } : {}),
      files: fp.code.files,
      ...(Object.keys(fp.code.packages).length > 0 ? { packages: fp.code.packages } : {}),
    },
    params: fp.params,
    deps: fp.deps,
    inputs: Object.fromEntries(Object.entries(fp.inputs).map(([n, i]) => [n, { from: i.from, hash: i.hash as string }])),
    outs,
    run: {
      started: started.toISOString(),
      ended: ended.toISOString(),
      duration_ms: ended.getTime() - started.getTime(),
      engine_version: ENGINE_VERSION,
      node_version: process.version,
      platform: `${process.platform}-${process.arch}`,
      executor: place.executor,
      ...(place.host ? { host: place.host } : {}),
      ...(place.job_id ? { job_id: place.job_id } : {}),
    },
  };
}

/** Remembers a finished run under its key (sealed: a damaged entry is ignored, see decide.ts). */
export function writeRunCache(root: string, entry: LockedStage): void {
  // losing it costs a re-run, and a torn one fails its seal: atomic, not synced
  writeFileAtomic(runCachePath(root, entry.key), seal(JSON.stringify(entry)), { sync: false });
}

/**
 * The one writer of a lockfile during a run: entries in the pipeline's stage order, written atomically as each stage
 * finishes (so a crash keeps every finished stage), and left byte-identical when nothing changed.
 */
export class LockWriter {
  private readonly lock: Lockfile;
  /** the bytes on disk as this writer last saw or wrote them */
  private written: string | undefined;

  constructor(
    private readonly root: string,
    private readonly file: string,
    private readonly order: readonly string[],
    pipelineRef: { path: string; hash: string },
    previous: Lockfile | undefined,
  ) {
    try {
      this.written = readFileSync(file, 'utf8');
    } catch {
      this.written = undefined;
    }
    this.lock = { spillway_lock: 1, pipeline: pipelineRef, stages: {} };
    for (const name of order) if (previous?.stages[name]) this.lock.stages[name] = previous.stages[name];
  }

  private ordered(): Lockfile {
    const ordered: Lockfile = { ...this.lock, stages: {} };
    for (const name of this.order) if (this.lock.stages[name]) ordered.stages[name] = this.lock.stages[name];
    return ordered;
  }

  private lastWrite = 0;
  private lastWriteMs = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * Records a finished stage. The lockfile is rewritten at most every WRITE_INTERVAL_MS (and by `flush` at the end),
   * so a run of thousands of stages does not rewrite a growing file after each one. A crash in between loses only
   * lockfile entries whose run-cache entries are already written (writeRunCache comes first): the next run restores
   * those stages by key instead of running them.
   */
  record(name: string, entry: LockedStage): void {
    this.lock.stages[name] = entry;
    // at least WRITE_INTERVAL_MS apart, and 20 times as long as the last write took: a large lockfile (10,000
    // stages: 14 MB) must not cost more than a small share of the run, however fast its stages finish
    const wait = this.lastWrite + Math.max(WRITE_INTERVAL_MS, 20 * this.lastWriteMs) - Date.now();
    if (wait <= 0) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), wait).unref();
  }

  /** Writes the lockfile unless its bytes would not change (a no-op run leaves it untouched). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const started = Date.now();
    try {
      this.write();
    } finally {
      this.lastWrite = Date.now();
      this.lastWriteMs = this.lastWrite - started;
    }
  }

  private write(): void {
    const text = lockfileText(this.ordered());
    if (text === this.written) return;
    writeLockfileText(this.file, text);
    this.written = text;
  }
}
