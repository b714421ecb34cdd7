// A stage process must not outlive the engine that started it. It exits on the IPC channel's 'disconnect', but a
// stage busy in a loop never gets to that event: after the engine was killed (SIGKILL, OOM killer) such a stage kept
// a core busy forever, its timeout gone with the engine. A watchdog thread, which runs beside a busy main thread,
// kills the process once its parent is gone (re-parented processes see another ppid).
import { Worker } from 'node:worker_threads';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.parent) process.kill(workerData.pid, 'SIGKILL');
}, 500);
`;

export function exitWithParent(): void {
  try {
    const watchdog = new Worker(WATCHDOG, { eval: true, workerData: { parent: process.ppid, pid: process.pid } });
    watchdog.unref(); // never keeps the process alive, never counts as a handle a stage left running
    watchdog.on('error', () => {});
  } catch {
    /* without threads the 'disconnect' handler still covers every stage that yields */
  }
}
