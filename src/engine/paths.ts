// Project paths built on every run, without path.resolve/relative's normalization when there is nothing to normalize.
import { relative, resolve, sep } from 'node:path';

/**
 * `resolve(dir, rel)` (or `fallback(dir, rel)`, e.g. path.join) for the paths the engine builds on every run (a
 * project root or a directory it walks, and a project-relative path from its own records), without the normalization
 * when there is nothing to normalize: `dir` absolute and normalized, `rel` plain ("a/b.ts": not absolute, no "." or
 * ".." segment, no empty one). A no-op builds several hundred such paths; through path.resolve that was enough calls
 * for V8 to compile node's normalizeString with TurboFan on a background thread, milliseconds of CPU for nothing.
 */
export function under(dir: string, rel: string, fallback: (dir: string, rel: string) => string = resolve): string {
  return sep === '/' && isNormalAbsolute(dir) && isPlainRelative(rel) ? `${dir}/${rel}` : fallback(dir, rel);
}

/** `relative(dir, file)` with forward slashes, without path.relative's work when `file` is `under(dir, rel)`. */
export function relativeUnder(dir: string, file: string): string {
  if (sep === '/' && file.length > dir.length + 1 && file.charCodeAt(dir.length) === 47 && file.startsWith(dir) && isNormalAbsolute(dir)) {
    const rest = file.slice(dir.length + 1);
    if (isPlainRelative(rest)) return rest;
  }
  const r = relative(dir, file);
  return sep === '/' ? r : r.split(sep).join('/');
}

function isNormalAbsolute(dir: string): boolean {
  return dir.length > 1 && dir.charCodeAt(0) === 47 && isPlainRelative(dir.slice(1));
}

function isPlainRelative(rel: string): boolean {
  if (rel.length === 0 || rel.charCodeAt(0) === 47 || rel.charCodeAt(rel.length - 1) === 47 || rel.includes('//') || rel.includes('\\')) return false;
  const padded = `/${rel}/`;
  return !padded.includes('/./') && !padded.includes('/../');
}
