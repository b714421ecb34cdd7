// Which build of the engine is running: the key of the engine's caches that depend on its code (the parsed pipeline,
// the no-op record). Apart from the pipeline module so that the no-op check (src/cli/main-noop.ts) names the build
// without loading the parser.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let engineBuildMemo: string | undefined;
/** In the bundled CLI (scripts/bundle-cli.mjs), the SHA-256 of the bundle: every module in it at once. */
declare const __spillwayBundleHash: string | undefined;
/**
 * Which build of the engine's parser is running: size and mtime of every module beside this one (src/engine or
 * dist/engine: a partial rebuild rewrites only the modules that changed) and of the pipeline schema: a few dozen stats.
 * Two builds with equal sizes and mtimes everywhere are taken to be the same (as make and tsc --incremental do). The
 * bundled CLI names its build by the bundle's hash instead, with no stat of the modules (the no-op path).
 */
export function engineBuild(): string {
  if (engineBuildMemo !== undefined) return engineBuildMemo;
  engineBuildMemo = typeof __spillwayBundleHash === 'string' ? `bundle:${__spillwayBundleHash} ${schemaStamp()}` : moduleBuild();
  return engineBuildMemo;
}

/**
 * The names of this build that a parsed pipeline is cached under: the bundled CLI runs only while the modules of dist/
 * are those it was made from (bin/spillway.js), so its parse holds for the unbundled CLI too.
 */
export function engineBuilds(): string[] {
  return typeof __spillwayBundleHash === 'string' ? [engineBuild(), moduleBuild()] : [engineBuild()];
}

function statStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.ctimeMs}`; // ctime: an edit that puts the mtime back is seen too
  } catch {
    return '-';
  }
}

function schemaStamp(): string {
  return statStamp(fileURLToPath(new URL('../../schemas/pipeline.schema.json', import.meta.url)));
}

function moduleBuild(): string {
  const parts: string[] = [];
  try {
    const here = fileURLToPath(import.meta.url);
    const dir = dirname(here);
    for (const name of readdirSync(dir).sort()) if (/\.(js|ts|cjs|mjs)$/.test(name)) parts.push(statStamp(join(dir, name)));
  } catch {
    parts.push('?');
  }
  parts.push(schemaStamp());
  // kept as text, not hashed: a no-op loads no crypto (test/engine/noop-lean.test.ts)
  return parts.join(' ');
}
