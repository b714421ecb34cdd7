// Store housekeeping: which objects under artifacts/objects/ something still keeps, and removing the rest.
// Keep scopes (like DVC's gc): every spillway lockfile at the project root, the N most recent run-cache entries of
// every stage (by their recorded end time), and every experiment record under .spillway/experiments/. The caller holds
// the project lock, so no run is writing or about to read an object while this removes it.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { STORE_DIR } from './store.js';
import { isSealed, unseal } from './hash.js';
import { relativeUnder } from './paths.js';

/** Where experiment records live; every content hash named in a JSON file under it is kept (see `experimentHashes`). */
export const EXPERIMENTS_DIR = join('.spillway', 'experiments');

export interface GcOptions {
  /** keep the outputs of each stage's N most recent run-cache entries (default 0: only what the lockfiles name) */
  keepRuns?: number;
  /** keep what experiment records name (default true) */
  keepExperiments?: boolean;
  /** report what would be removed, remove nothing */
  dryRun?: boolean;
}

export interface GcScope {
  name: 'lockfile' | 'runs' | 'experiments';
  /** the files the scope was read from, project-relative */
  sources: string[];
  /** distinct objects it keeps */
  objects: number;
}

export interface GcReport {
  dry_run: boolean;
  kept: { objects: number; bytes: number };
  removed: { objects: number; bytes: number; run_cache_entries: number; temp_files: number };
  scopes: GcScope[];
  /** project-relative paths of the removed (or, in a dry run, removable) objects */
  objects: string[];
}

const HASH = /^[a-z0-9-]+:([0-9a-f]{16,})$/;

/** The digest (hex part) of a content hash: object files are named by it. */
function digestOf(hash: string): string | undefined {
  return HASH.exec(hash)?.[1];
}

/** Every content hash anywhere in a JSON value (lockfile, run-cache entry, experiment record). */
function collectHashes(value: unknown, into: Set<string>): void {
  if (typeof value === 'string') {
    const digest = digestOf(value);
    if (digest !== undefined) into.add(digest);
  } else if (Array.isArray(value)) {
    for (const v of value) collectHashes(v, into);
  } else if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) collectHashes(v, into);
  }
}

function readJson(file: string): unknown {
  try {
    // run-cache entries are sealed (a checksum line first, see hash.ts); lockfiles and experiment records are not
    const text = readFileSync(file, 'utf8');
    return JSON.parse(isSealed(text) ? (unseal(text) ?? 'null') : text);
  } catch {
    return undefined;
  }
}


function walkFiles(dir: string, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) walkFiles(full, out);
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/** Scope 1: every spillway lockfile at the project root (pipeline.lock, other.lock: one store may serve several). */
export function lockfileHashes(root: string): { digests: Set<string>; sources: string[] } {
  const digests = new Set<string>();
  const sources: string[] = [];
  for (const name of readdirSync(root).filter((n) => n.endsWith('.lock')).sort()) {
    const lock = readJson(join(root, name)) as { spillway_lock?: number; stages?: unknown } | undefined;
    if (lock?.spillway_lock !== 1) continue;
    sources.push(name);
    collectHashes(lock.stages, digests);
  }
  return { digests, sources };
}

interface RunEntry {
  file: string;
  stage: string;
  ended: string;
  value: unknown;
}

function runCacheEntries(root: string): RunEntry[] {
  const entries: RunEntry[] = [];
  for (const file of walkFiles(join(root, STORE_DIR, 'runs'))) {
    if (!file.endsWith('.json')) continue;
    const value = readJson(file) as { run?: { ended?: string }; outs?: Record<string, { path?: string }> } | undefined;
    // the run cache does not name the stage; the materialized path of its first output does (artifacts/out/<stage>/…)
    const firstOut = Object.values(value?.outs ?? {})[0]?.path ?? '';
    const stage = /^artifacts\/out\/([^/]+)\//.exec(firstOut)?.[1] ?? firstOut;
    entries.push({ file, stage, ended: value?.run?.ended ?? '', value });
  }
  return entries;
}

/** Scope 2: the N most recent run-cache entries of every stage. Returns them and the entries outside the scope. */
export function recentRunHashes(root: string, keepRuns: number): { digests: Set<string>; kept: RunEntry[]; dropped: RunEntry[] } {
  const byStage = new Map<string, RunEntry[]>();
  for (const e of runCacheEntries(root)) byStage.set(e.stage, [...(byStage.get(e.stage) ?? []), e]);
  const digests = new Set<string>();
  const kept: RunEntry[] = [];
  const dropped: RunEntry[] = [];
  for (const list of byStage.values()) {
    list.sort((a, b) => (a.ended < b.ended ? 1 : a.ended > b.ended ? -1 : 0));
    list.forEach((e, i) => (i < keepRuns ? kept : dropped).push(e));
  }
  for (const e of kept) collectHashes((e.value as { outs?: unknown })?.outs, digests);
  return { digests, kept, dropped };
}

/**
 * Scope 3, the hook for experiments: every content hash named in a JSON file (any depth, any shape) under
 * .spillway/experiments/. An experiment feature keeps its results by recording their hashes there.
 */
export function experimentHashes(root: string): { digests: Set<string>; sources: string[] } {
  const digests = new Set<string>();
  const sources: string[] = [];
  for (const file of walkFiles(join(root, EXPERIMENTS_DIR)).sort()) {
    if (!file.endsWith('.json') && !file.endsWith('.lock')) continue;
    const value = readJson(file);
    if (value === undefined) continue;
    sources.push(relativeUnder(root, file));
    collectHashes(value, digests);
  }
  return { digests, sources };
}

/** A kept directory object keeps every file its manifest lists. */
function addDirMembers(root: string, digests: Set<string>): void {
  for (const digest of [...digests]) {
    const file = join(root, STORE_DIR, 'objects', digest.slice(0, 2), digest.slice(2));
    // only a manifest starts like one: read 9 bytes, not the object
    const head = Buffer.alloc(9);
    try {
      const fd = openSync(file, 'r');
      try {
        readSync(fd, head, 0, 9, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      continue;
    }
    if (head.toString('utf8') !== '{"files":') continue;
    const manifest = readJson(file) as { spillway_dir?: number; files?: { hash: string }[] } | undefined;
    if (manifest?.spillway_dir === 1) for (const f of manifest.files ?? []) collectHashes(f.hash, digests);
  }
}

/** Computes what the keep scopes hold, and removes (or lists) every other object. The caller holds the project lock. */
export function collectGarbage(root: string, options: GcOptions = {}): GcReport {
  const keepRuns = options.keepRuns ?? 0;
  const keep = new Set<string>();
  const objectsDir = join(root, STORE_DIR, 'objects');
  const objectFiles = walkFiles(objectsDir).sort();
  const present = new Set(objectFiles.map((f) => relativeUnder(objectsDir, f).replace('/', '')));
  const inStore = (digests: Set<string>) => {
    const withMembers = new Set(digests);
    addDirMembers(root, withMembers);
    return [...withMembers].filter((d) => present.has(d)).length;
  };
  const locks = lockfileHashes(root);
  const runs = recentRunHashes(root, keepRuns);
  const experiments = options.keepExperiments === false ? { digests: new Set<string>(), sources: [] } : experimentHashes(root);
  // each scope's count: the objects in the store it keeps on its own (scopes overlap)
  const scopes: GcScope[] = [
    { name: 'lockfile', sources: locks.sources, objects: inStore(locks.digests) },
    { name: 'runs', sources: runs.kept.map((e) => relativeUnder(root, e.file)).sort(), objects: inStore(runs.digests) },
    { name: 'experiments', sources: experiments.sources, objects: inStore(experiments.digests) },
  ];
  for (const set of [locks.digests, runs.digests, experiments.digests]) for (const d of set) keep.add(d);
  addDirMembers(root, keep);

  const report: GcReport = { dry_run: options.dryRun ?? false, kept: { objects: 0, bytes: 0 }, removed: { objects: 0, bytes: 0, run_cache_entries: 0, temp_files: 0 }, scopes, objects: [] };
  for (const file of objectFiles) {
    const rel = relativeUnder(objectsDir, file);
    const size = statSync(file).size;
    // a temp file left by a write that crashed (fs-atomic names them <target>.tmp-…): nothing reads it
    if (/\.tmp-/.test(rel)) {
      report.removed.temp_files++;
      report.removed.bytes += size;
      if (!report.dry_run) rmSync(file, { force: true });
      continue;
    }
    const digest = rel.replace('/', '');
    if (keep.has(digest)) {
      report.kept.objects++;
      report.kept.bytes += size;
      continue;
    }
    report.removed.objects++;
    report.removed.bytes += size;
    report.objects.push(relativeUnder(root, file));
    if (!report.dry_run) rmSync(file, { force: true });
  }
  // run-cache entries outside the kept runs whose outputs are now gone would only send `run` to a missing object
  for (const e of runs.dropped) {
    const outs = new Set<string>();
    collectHashes((e.value as { outs?: unknown })?.outs, outs);
    if ([...outs].every((d) => keep.has(d))) continue;
    report.removed.run_cache_entries++;
    if (!report.dry_run) rmSync(e.file, { force: true });
  }
  if (!report.dry_run && existsSync(objectsDir)) {
    for (const d of readdirSync(objectsDir)) {
      try {
        if (readdirSync(join(objectsDir, d)).length === 0) rmSync(join(objectsDir, d), { recursive: true });
      } catch {
        /* not a directory */
      }
    }
  }
  return report;
}
