// A real `spillway watch --json` process on a temp project, read line by line: tests await events, never sleep.
import ajvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { CLI } from '../provenance/real-project.js';

export interface WatchLine {
  event: 'start' | 'run' | 'ready' | 'stopped';
  run?: number;
  changed?: string[];
  ok?: boolean;
  ran?: string[];
  cached?: string[];
  failed?: { stage: string; error: string }[];
  skipped?: string[];
  error?: { error: string; message: string };
  [key: string]: unknown;
}

const ajv = new ajvModule.default({ allErrors: true, strict: false });
addFormatsModule.default(ajv);
const validateLine = ajv.compile(JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../schemas/provenance/watch-event.schema.json'), 'utf8')));

export class WatchProcess {
  /** lines that did not match schemas/provenance/watch-event.schema.json */
  readonly invalid: unknown[] = [];
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: WatchLine[] = [];
  stderr = '';
  private cursor = 0;
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(cwd: string, args: string[] = []) {
    this.child = spawn(process.execPath, [CLI, 'watch', '--json', '--debounce', '300', '--jobs', '2', ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const parsed = JSON.parse(line) as WatchLine;
      if (!validateLine(parsed)) this.invalid.push({ line: parsed, errors: validateLine.errors });
      this.lines.push(parsed);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => {
      resolve(code);
      for (const wake of this.waiters.splice(0)) wake();
    }));
  }

  /** The next line (after those already consumed) matching `predicate`; lines skipped over are consumed. */
  async next(predicate: (line: WatchLine) => boolean, what: string, timeoutMs = 120_000): Promise<WatchLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.lines.length) {
        const line = this.lines[this.cursor++];
        if (predicate(line)) return line;
      }
      if (this.child.exitCode !== null) throw new Error(`watch exited (${this.child.exitCode}) while waiting for ${what}; stderr: ${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; lines: ${JSON.stringify(this.lines.slice(-5))}; stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  nextRun(what: string): Promise<WatchLine> {
    return this.next((l) => l.event === 'run', what);
  }

  nextStart(what: string): Promise<WatchLine> {
    return this.next((l) => l.event === 'start', what);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGINT');
    return this.exited;
  }
}
