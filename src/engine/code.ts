// Which files make up a stage's code: a module and the local files it imports (transitively), or the files a
// command names. Imports are found with es-module-lexer and cached by file hash, so unchanged code is not re-parsed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import type { HashedFile, StatCache } from './hash.js';
import { readPackageVersion, StatCache as StatCacheClass } from './hash.js';
import { under } from './paths.js';
import { schemaRefs } from './schema-refs.js';
import type { Pipeline, StageDecl } from './pipeline.js';

let lexer: typeof import('es-module-lexer') | undefined;

async function importSpecifiers(source: string): Promise<string[]> {
  if (lexer === undefined) {
    lexer = await import('es-module-lexer');
    await lexer.init;
  }
  try {
    const [imports] = lexer.parse(source);
    return imports.map((i) => i.n).filter((n): n is string => typeof n === 'string');
  } catch {
    // TypeScript syntax the JS lexer cannot follow: fall back to the import/export-from forms.
    const found: string[] = [];
    const re = /(?:import|export)\s+(?:type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
    for (const m of source.matchAll(re)) found.push(m[1] ?? m[2]);
    return found;
  }
}

const CODE_EXT = /\.(ts|mts|cts|tsx|js|mjs|cjs|jsx)$/;

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * NodeNext-style resolution of a relative specifier to a source file: `./x.js` may be `./x.ts` on disk. `passed`, when
 * given, receives the candidates tried before the one found (all of them when none is): a file created at one of them
 * later resolves the specifier to it.
 */
function resolveLocal(fromFile: string, specifier: string, passed?: string[]): string | undefined {
  if (!specifier.startsWith('.') && !specifier.startsWith('/')) return undefined;
  const base = resolve(dirname(fromFile), specifier.split('?')[0]);
  const candidates: string[] = [];
  const ext = extname(base);
  const stem = base.slice(0, base.length - ext.length);
  if (ext === '.js' || ext === '.jsx') candidates.push(`${stem}.ts`, `${stem}.tsx`, base);
  else if (ext === '.mjs') candidates.push(`${stem}.mts`, base);
  else if (ext === '.cjs') candidates.push(`${stem}.cts`, base);
  else if (ext === '') candidates.push(`${base}.ts`, `${base}.js`, `${base}/index.ts`, `${base}/index.js`, base);
  else candidates.push(base);
  for (const candidate of candidates) {
    if (isFile(candidate)) return candidate;
    passed?.push(candidate);
  }
  return undefined;
}

/**
 * In a cached import list: the version of the list's format (a list without it, from an engine that did not keep the
 * candidates passed over, is computed again), and the prefix of a candidate that was not a file when the list was
 * made. The list holds for the importing file's content only while those are still not files and every import it
 * resolved to still is: the resolution is checked again (a few stats) each time the list is used.
 */
const IMPORTS_FORMAT = '#2';
const NOT_A_FILE = '!';

function importsHold(root: string, imports: string[]): boolean {
  if (imports[0] !== IMPORTS_FORMAT) return false;
  for (let i = 1; i < imports.length; i++) {
    const entry = imports[i];
    if (entry.startsWith(PACKAGE_PREFIX)) continue;
    if (entry.startsWith(NOT_A_FILE) ? isFile(under(root, entry.slice(NOT_A_FILE.length))) : !isFile(under(root, entry))) return false;
  }
  return true;
}

const PACKAGE_PREFIX = 'pkg:';

/** `@scope/name/sub` → `@scope/name`, `name/sub` → `name`; undefined for builtins and non-package specifiers. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || /^[a-z]+:/.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return builtinModules.includes(name) ? undefined : name;
}

/**
 * The stage's code files, hashed, sorted by path: module + local imports, or named files of a command. The names of
 * the npm packages they import are added to `packages` when given (their versions enter the key, see fingerprint.ts).
 */
export async function stageCodeFiles(stage: StageDecl, root: string, cache: StatCache, packages?: Set<string>): Promise<HashedFile[]> {
  const seeds: string[] = [];
  if (stage.run !== undefined) seeds.push(under(root, stage.run));
  for (const arg of stage.cmd ?? []) {
    if (arg.startsWith('-') || isAbsolute(arg)) continue;
    const path = resolve(root, arg);
    if ((arg.includes('/') || extname(arg) !== '') && isFile(path)) seeds.push(path);
  }
  const seen = new Map<string, HashedFile>();
  const queue = [...seeds];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const hashed = cache.hashFile(file);
    seen.set(file, hashed);
    if (!CODE_EXT.test(file)) continue;
    let imports = cache.getImports(hashed.path, hashed.hash);
    if (imports === undefined || !importsHold(root, imports)) {
      const specifiers = await importSpecifiers(readFileSync(file, 'utf8'));
      const passed: string[] = [];
      const local = specifiers
        .map((s) => resolveLocal(file, s, passed))
        .filter((p): p is string => p !== undefined && !p.includes('/node_modules/'))
        .map((p) => cache.relative(p));
      const notFiles = [...new Set(passed.filter((p) => !p.includes('/node_modules/')).map((p) => `${NOT_A_FILE}${cache.relative(p)}`))];
      const external = [...new Set(specifiers.map(packageName).filter((n): n is string => n !== undefined))].map((n) => `${PACKAGE_PREFIX}${n}`);
      imports = [IMPORTS_FORMAT, ...local, ...notFiles, ...external];
      cache.setImports(hashed.path, hashed.hash, imports);
    }
    for (const entry of imports) {
      if (entry.startsWith(PACKAGE_PREFIX)) packages?.add(entry.slice(PACKAGE_PREFIX.length));
      else if (entry !== IMPORTS_FORMAT && !entry.startsWith(NOT_A_FILE)) queue.push(under(root, entry));
    }
  }
  return [...seen.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Absolute paths of the files that make up a stage's code (for watch mode). */
export async function codeFilesOf(pipeline: Pipeline, stageName: string, cache?: StatCache): Promise<string[]> {
  const stage = pipeline.stages[stageName];
  if (!stage) throw new Error(`unknown stage "${stageName}"`);
  const statCache = cache ?? new StatCacheClass(pipeline.root);
  const files = await stageCodeFiles(stage, pipeline.root, statCache);
  if (!cache) statCache.save();
  return files.map((f) => resolve(pipeline.root, f.path));
}

export const GLOB_CHARS = /[*?[\]{}]/;

export interface WatchTargets {
  root: string;
  /** the pipeline file itself (params and declarations) */
  pipelineFile: string;
  /** absolute paths of every file that enters some stage's key: code, literal deps, schemas */
  files: string[];
  /** deps given as globs, project-relative, as written */
  globs: string[];
  /** per stage: its code files, deps (files and globs as written), schema files */
  stages: Record<string, { code: string[]; deps: string[]; schemas: string[] }>;
}

/** Everything whose change can change a key, so watch mode knows what to observe. */
export async function watchTargets(pipeline: Pipeline): Promise<WatchTargets> {
  const cache = new StatCacheClass(pipeline.root);
  const files = new Set<string>();
  const globs = new Set<string>();
  const stages: WatchTargets['stages'] = {};
  for (const name of pipeline.order) {
    const stage = pipeline.stages[name];
    const code = (await stageCodeFiles(stage, pipeline.root, cache)).map((f) => resolve(pipeline.root, f.path));
    const schemas: string[] = [];
    for (const out of stage.outs) {
      if (!out.schema) continue;
      schemas.push(resolve(pipeline.root, out.schema));
      // and the files it refers to ("$ref"), which enter the key too; a missing one as well (the run reports it, and
      // creating it is the fix: watch must see that)
      try {
        const missing: string[] = [];
        for (const ref of schemaRefs(pipeline.root, out.schema, cache, (abs) => missing.push(abs))) schemas.push(resolve(pipeline.root, ref.path));
        schemas.push(...missing);
      } catch {
        /* reported by the run */
      }
    }
    for (const f of [...code, ...schemas]) files.add(f);
    for (const d of stage.deps) {
      if (GLOB_CHARS.test(d)) globs.add(d);
      else if (existsSync(resolve(pipeline.root, d))) files.add(resolve(pipeline.root, d));
      else files.add(resolve(pipeline.root, d));
    }
    stages[name] = { code, deps: [...stage.deps], schemas };
  }
  cache.save();
  return { root: pipeline.root, pipelineFile: pipeline.file, files: [...files].sort(), globs: [...globs].sort(), stages };
}

/**
 * The installed version of an npm package as seen from `root` (walking up node_modules like Node), or "missing".
 * With a stat cache, a package.json unchanged since it was last read (size, mtime, inode) is not read again. Nothing is
 * kept in the process: a process that runs the pipeline again (spillway watch, a caller of runPipeline) must see an
 * install or upgrade made in between.
 */
export function packageVersion(root: string, name: string, cache?: StatCache): string {
  return findPackageVersion(root, name, cache);
}

function findPackageVersion(root: string, name: string, cache: StatCache | undefined): string {
  let dir = root;
  for (;;) {
    const file = join(dir, 'node_modules', name, 'package.json');
    const version = cache !== undefined ? cache.packageVersion(file) : readPackageVersion(file);
    if (version !== undefined) return version;
    const parent = dirname(dir);
    if (parent === dir) return 'missing';
    dir = parent;
  }
}
