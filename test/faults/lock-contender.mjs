// A lock contender for the race test (test/faults/locks.test.ts): for each trial it waits for the barrier file
// `go-<n>`, tries once to take the project lock, and writes `r-<n>-<id>` = "win" or "lose". A winner holds the lock
// until `end-<n>` appears, then releases it and writes `rel-<n>-<id>`.
// usage: node lock-contender.mjs MODULE_URL PROJECT_ROOT SYNC_DIR TRIALS ID
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [moduleUrl, root, sync, trialsText, id] = process.argv.slice(2);
const { acquireProjectLock } = await import(moduleUrl);
// The result is renamed into place: the race test reads a file as soon as it exists, and under load a plain write
// could be seen empty between its open and its write (a winner counted as nobody).
const report = (name, text) => {
  writeFileSync(join(sync, `.${name}.tmp`), text);
  renameSync(join(sync, `.${name}.tmp`), join(sync, name));
};
const until = async (file) => {
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 1));
};
for (let n = 0; n < Number(trialsText); n++) {
  await until(join(sync, `go-${n}`));
  let release;
  let result = 'lose';
  try {
    release = await acquireProjectLock(root, { command: 'race' });
    result = 'win';
  } catch (error) {
    if (error?.kind !== 'locked') result = `error ${error?.stack ?? error}`;
  }
  report(`r-${n}-${id}`, result);
  if (release) {
    await until(join(sync, `end-${n}`));
    release();
    writeFileSync(join(sync, `rel-${n}-${id}`), '');
  }
}
