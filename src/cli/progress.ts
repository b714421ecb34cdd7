// Run progress: a live table on a terminal (stage states and timings, redrawn in place), plain lines otherwise.
import type { RunEvent, StageReport } from '../engine/runner.js';
import { colorEnabled, formatDuration, paint } from './args.js';
import type { TextSink } from './output.js';

type Row = { stage: string; state: 'waiting' | 'checking' | 'running' | StageReport['status']; started?: number; duration?: number; reason?: string };

export interface Progress {
  onEvent(event: RunEvent): void;
  stop(): void;
}

export function createProgress(stream: TextSink = process.stderr, options: { live?: boolean } = {}): Progress {
  const color = paint(colorEnabled(stream));
  const live = options.live ?? (stream.isTTY === true && process.env.TERM !== 'dumb');
  const rows = new Map<string, Row>();
  let width = 0;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const symbol = (row: Row, label: string): string => {
    switch (row.state) {
      case 'ran':
        return color.green(label);
      case 'failed':
        return color.red(label);
      case 'skipped':
      case 'would-run':
        return color.yellow(label);
      case 'running':
        return color.cyan(label);
      default:
        return color.dim(label);
    }
  };
  const labels: Record<string, string> = {
    ran: '✔ ran',
    cached: '· cached',
    failed: '✘ failed',
    skipped: '- skipped',
    'would-run': '» would run',
    running: '▶ running',
  };
  const line = (row: Row): string => {
    const time = row.duration !== undefined ? formatDuration(row.duration) : row.started !== undefined ? formatDuration(process.uptime() * 1000 - row.started) : '';
    const label = (labels[row.state] ?? '  waiting').padEnd(11);
    const head = `${row.stage.padEnd(width)}  ${label}  ${time.padStart(8)}`;
    let reason = row.reason && row.state !== 'cached' ? row.reason : '';
    // On a terminal a wrapped line would break the in-place redraw: cut the reason to the terminal width.
    const columns = stream.columns && stream.columns > 0 ? stream.columns : 0;
    if (live && columns > 0 && head.length + 2 + reason.length > columns) {
      const room = Math.max(0, columns - head.length - 3);
      reason = room > 1 ? `${reason.slice(0, room - 1)}…` : '';
    }
    return `${head.replace(label, symbol(row, label))}${reason ? `  ${color.dim(reason)}` : ''}`;
  };
  const clear = () => {
    if (drawn > 0) stream.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    if (!live) return;
    clear();
    const text = [...rows.values()].map(line).join('\n');
    stream.write(`${text}\n`);
    drawn = rows.size;
  };

  return {
    onEvent(event) {
      switch (event.type) {
        case 'plan':
          width = Math.max(0, ...event.stages.map((s) => s.length));
          for (const s of event.stages) rows.set(s, { stage: s, state: 'waiting' });
          if (live) {
            draw();
            timer = setInterval(draw, 100);
            timer.unref();
          }
          break;
        case 'stage-start': {
          const row = rows.get(event.stage);
          if (row) Object.assign(row, { state: 'running', started: process.uptime() * 1000, reason: event.reason });
          if (live) draw();
          else stream.write(`${event.stage}: running (${event.reason})\n`);
          break;
        }
        case 'stage-end': {
          const r = event.report;
          const row = rows.get(r.stage) ?? { stage: r.stage, state: r.status };
          Object.assign(row, { state: r.status, duration: r.duration_ms, reason: r.reason });
          rows.set(r.stage, row);
          if (live) draw();
          else stream.write(`${line(row)}\n`);
          break;
        }
        case 'log':
          if (live) clear();
          stream.write(`${color.dim(`[${event.stage}]`)} ${event.message}\n`);
          if (live) draw();
          break;
        case 'restore':
          if (live) clear();
          stream.write(`${color.dim(`[${event.stage}]`)} restored ${event.path} from the store\n`);
          if (live) draw();
          break;
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      if (live) draw();
    },
  };
}
