// Module hooks that let a stage process import TypeScript: `./x.js` resolves to `./x.ts` (NodeNext style), and .ts
// files are transpiled with esbuild into a content-addressed cache (.spillway/ts-cache), so an unchanged module is
// never transpiled twice. It does what tsx does for stage modules at a fraction of tsx's start-up cost (measured in
// bench/engine-overhead.js); SPILLWAY_STAGE_LOADER=tsx switches back to tsx.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TS = /\.(ts|mts|tsx)$/;
const digest = (text: string) => createHash('sha256').update(text).digest('hex');
const FORMAT_VERSION = 'spillway-ts-2';
let cacheDir = join(process.cwd(), '.spillway', 'ts-cache');

interface EsbuildApi {
  version: string;
  transformSync(source: string, options: Record<string, unknown>): { code: string };
}
let esbuild: EsbuildApi | undefined;

function loadEsbuild(): EsbuildApi {
  // esbuild comes with tsx (a dependency of spillway); resolving it through tsx keeps one esbuild in the tree.
  const require = createRequire(import.meta.url);
  const fromTsx = createRequire(require.resolve('tsx'));
  return fromTsx('esbuild') as EsbuildApi;
}

export function initialize(data: { cacheDir?: string } | undefined): void {
  if (data?.cacheDir) cacheDir = data.cacheDir;
}

type Resolve = (specifier: string, context: { parentURL?: string }) => Promise<{ url: string; format?: string | null; shortCircuit?: boolean }>;
type Load = (url: string, context: { format?: string | null }) => Promise<{ format: string; source?: string | Buffer | null; shortCircuit?: boolean }>;

const INSTANCE = 'spillway-job';

/**
 * A persistent worker imports each job's module with `?spillway-job=N`; the same mark on every project file that
 * module imports (not on packages under node_modules) gives each job fresh instances of the stage's own code.
 */
function withInstance(resolved: { url: string; format?: string | null; shortCircuit?: boolean }, parentURL: string | undefined) {
  if (parentURL === undefined || !parentURL.includes(INSTANCE) || !resolved.url.startsWith('file:') || resolved.url.includes('/node_modules/')) return resolved;
  const instance = new URL(parentURL).searchParams.get(INSTANCE);
  if (instance === null) return resolved;
  const url = new URL(resolved.url);
  url.searchParams.set(INSTANCE, instance);
  return { ...resolved, url: url.href };
}

export async function resolve(specifier: string, context: { parentURL?: string }, next: Resolve) {
  return withInstance(await resolveLocal(specifier, context, next), context.parentURL);
}

async function resolveLocal(specifier: string, context: { parentURL?: string }, next: Resolve) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const local = specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:');
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !local) throw error;
    const candidates = specifier.endsWith('.js')
      ? [`${specifier.slice(0, -3)}.ts`, `${specifier.slice(0, -3)}.tsx`]
      : specifier.endsWith('.mjs')
        ? [`${specifier.slice(0, -4)}.mts`]
        : [`${specifier}.ts`, `${specifier}/index.ts`];
    for (const candidate of candidates) {
      try {
        return await next(candidate, context);
      } catch {
        /* try the next */
      }
    }
    throw error;
  }
}

export async function load(url: string, context: { format?: string | null }, next: Load) {
  if (!url.startsWith('file:') || !TS.test(url.split('?')[0])) return next(url, context);
  const path = fileURLToPath(url);
  const source = readFileSync(path, 'utf8');
  const key = createHash('sha256').update(FORMAT_VERSION).update('\0').update(path).update('\0').update(source).digest('hex');
  const cached = join(cacheDir, key.slice(0, 2), `${key.slice(2)}.js`);
  let code: string | undefined;
  try {
    // Each cached file starts with the sha256 of the code after it: an edited or damaged entry is transpiled afresh.
    const text = readFileSync(cached, 'utf8');
    const newline = text.indexOf('\n');
    const body = text.slice(newline + 1);
    if (newline > 0 && text.slice(0, newline) === `// ${digest(body)}`) code = body;
  } catch {
    /* not cached yet */
  }
  if (code === undefined) {
    esbuild ??= loadEsbuild();
    code = esbuild.transformSync(source, {
      loader: path.endsWith('.tsx') ? 'tsx' : 'ts',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcefile: path,
    }).code;
    try {
      mkdirSync(join(cacheDir, key.slice(0, 2)), { recursive: true });
      const temp = `${cached}.tmp-${process.pid}`;
      writeFileSync(temp, `// ${digest(code)}\n${code}`);
      renameSync(temp, cached);
    } catch {
      /* a read-only project still runs, just without the cache */
    }
  }
  return { format: 'module', source: code, shortCircuit: true };
}
