// Reading what audit, lineage and export build on: the project root, its lockfile, and content hashes of files on disk.
import { createHash, getHashes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { SpillwayError } from '../errors.js';
import type { ContentHash, LockedOutput, Lockfile } from '../engine/lockfile-format.js';
import { parseLockfile } from '../engine/lockfile.js';

export const LOCKFILE_NAME = 'pipeline.lock';
export const DEFAULT_PIPELINE = 'pipeline.yaml';

export interface Project {
  /** absolute project root (the directory holding the pipeline file and its lockfile) */
  root: string;
  /** absolute path of the pipeline file */
  pipelineFile: string;
  /** absolute path of the lockfile */
  lockfilePath: string;
}

/** pipeline.yaml → pipeline.lock, other.yml → other.lock (the engine's rule, src/engine/pipeline.ts lockFileFor). */
export function lockfileFor(pipelineFile: string): string {
  const base = pipelineFile.replace(/\.ya?ml$/i, '');
  return `${base === pipelineFile ? pipelineFile : base}.lock`;
}

export function projectFromPipelineFile(pipelineFile = DEFAULT_PIPELINE, cwd = process.cwd()): Project {
  const absolute = path.resolve(cwd, pipelineFile);
  const root = path.dirname(absolute);
  return { root, pipelineFile: absolute, lockfilePath: lockfileFor(absolute) };
}

/** Project-relative path → absolute path; refuses paths that leave the project (a tampered lockfile must not make us read /etc). */
export function resolveInProject(root: string, relative: string): string {
  const absolute = path.resolve(root, relative);
  const back = path.relative(root, absolute);
  if (back.startsWith('..') || path.isAbsolute(back)) {
    throw new SpillwayError('invalidInput', `path "${relative}" in the lockfile points outside the project`, {
      file: LOCKFILE_NAME,
      expected: 'a project-relative path without ../',
    });
  }
  return absolute;
}

/** Absolute or cwd-relative path → project-relative path with forward slashes. */
export function toProjectPath(root: string, p: string, cwd = process.cwd()): string {
  return path.relative(root, path.resolve(cwd, p)).split(path.sep).join('/');
}

export async function readLock(project: Project): Promise<Lockfile> {
  let text: string;
  try {
    text = await readFile(project.lockfilePath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new SpillwayError('usage', `no lockfile at ${project.lockfilePath}`, {
        file: project.lockfilePath,
        hint: 'run `spillway run` first: the lockfile is written by a successful run',
      });
    }
    throw error;
  }
  // one reader for every command: the same checks, the same error and exit code as `spillway run`
  return parseLockfile(text, path.relative(process.cwd(), project.lockfilePath) || project.lockfilePath);
}

export function splitHash(hash: ContentHash): { algorithm: string; digest: string } {
  const colon = hash.indexOf(':');
  if (colon < 0) return { algorithm: 'sha256', digest: hash };
  return { algorithm: hash.slice(0, colon), digest: hash.slice(colon + 1) };
}

/** Maps the algorithm names used in lockfiles to node:crypto names. */
function cryptoName(algorithm: string): string | undefined {
  const name = algorithm.toLowerCase().replace(/-/g, '');
  const known: Record<string, string> = { sha256: 'sha256', sha512: 'sha512', sha1: 'sha1', blake2b512: 'blake2b512' };
  const candidate = known[name] ?? name;
  return getHashes().includes(candidate) ? candidate : undefined;
}

/** The content-addressed location of a hash (CONTRACTS §2: artifacts/objects/<first 2 hex>/<rest>). */
export function objectRelPath(hash: ContentHash): string {
  const { digest } = splitHash(hash);
  return `artifacts/objects/${digest.slice(0, 2)}/${digest.slice(2)}`;
}

/** Hashes a file's bytes with the algorithm a recorded hash names, returning it in the same "algo:hex" form. Always reads the file: audit must not trust a stat cache. */
export async function hashFileLike(file: string, recorded: ContentHash): Promise<ContentHash> {
  const { algorithm } = splitHash(recorded);
  const name = cryptoName(algorithm);
  if (!name) {
    throw new SpillwayError('internal', `cannot verify hashes made with "${algorithm}"`, {
      hint: 'this spillway build does not know that hash algorithm',
    });
  }
  const digest = await new Promise<string>((resolve, reject) => {
    const hash = createHash(name);
    createReadStream(file)
      .on('error', reject)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')));
  });
  return `${algorithm}:${digest}`;
}

/** sha256 of a file as bare hex (what RO-Crate's `sha256` and sha256sum files carry). */
export async function sha256Hex(file: string): Promise<string> {
  return splitHash(await hashFileLike(file, 'sha256:')).digest;
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export function splitRef(ref: string): [string, string] {
  const dot = ref.indexOf('.');
  return dot < 0 ? [ref, ''] : [ref.slice(0, dot), ref.slice(dot + 1)];
}


/** A file of a dir output as a project path (the lockfile may record it relative to the project or to the dir). */
export function dirFilePath(out: LockedOutput, file: string): string {
  const dir = out.path.replace(/\/+$/, '');
  return file.startsWith(`${dir}/`) ? file : `${dir}/${file}`;
}


/** Files of a directory, project paths relative to it, sorted as the engine sorts them. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (current: string, prefix: string) => {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path.join(current, entry.name), rel);
      else if (entry.isFile()) out.push(rel);
    }
  };
  await walk(dir, '');
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The hash of a directory dep as the engine defines it (src/engine/store.ts hashDir): the hash of the canonical JSON
 * manifest {spillway_dir: 1, files: [{path, hash, size}]} of every file in it, read byte by byte here.
 */
export async function hashDirLike(dir: string, recorded: ContentHash): Promise<ContentHash> {
  const files = [];
  for (const rel of await listFiles(dir)) {
    const abs = path.join(dir, rel);
    files.push({ hash: await hashFileLike(abs, recorded), path: rel, size: (await stat(abs)).size });
  }
  const manifest = JSON.stringify({ files: files.map((f) => ({ hash: f.hash, path: f.path, size: f.size })), spillway_dir: 1 });
  const { algorithm } = splitHash(recorded);
  const name = algorithm === 'sha256' ? 'sha256' : algorithm;
  return `${algorithm}:${createHash(name).update(manifest).digest('hex')}`;
}
