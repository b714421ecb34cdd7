// Glob deps without a glob library on the no-op path: a pattern's matches are cached with the mtimes of every
// directory walked to find them. Adding, removing or renaming a file changes its directory's mtime, so while all those
// mtimes are unchanged (and not racy) the match set is unchanged and nothing is listed or matched again. Their ctimes
// too: an mtime put back after the change (tar extracting over a directory, touch -d) leaves the ctime moved.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RACY_WINDOW_MS } from './hash.js';

const GLOB = /[*?[\]{}()!+@]/;

export interface GlobCacheEntry {
  /** project-relative directories walked, with their mtimes and ctimes (an mtime put back, as tar does, moves the ctime) */
  dirs: [string, number, number?][];
  /** project-relative matching files, sorted */
  matches: string[];
  /**
   * symlinks met in the walk, with what each pointed to ('f' a file, 'd' a directory, '-' nothing or something else):
   * a link's target can appear, vanish or change kind without any mtime of the walked directories moving
   */
  links?: [string, string][];
  listedAt: number;
}

/** The pattern's leading directory segments that contain no glob syntax. */
function baseOf(pattern: string): { base: string; depth: number } {
  const segments = pattern.split('/');
  let i = 0;
  while (i < segments.length - 1 && !GLOB.test(segments[i])) i++;
  const rest = segments.slice(i);
  return { base: segments.slice(0, i).join('/'), depth: rest.includes('**') ? Infinity : rest.length };
}

function stillValid(root: string, entry: GlobCacheEntry): boolean {
  for (const [dir, mtime, ctime] of entry.dirs) {
    let now;
    try {
      now = statSync(join(root, dir));
    } catch {
      return false;
    }
    if (now.mtimeMs !== mtime || now.ctimeMs !== ctime || entry.listedAt - mtime <= RACY_WINDOW_MS) return false;
  }
  for (const [link, kind] of entry.links ?? []) if (linkKind(join(root, link)) !== kind) return false;
  return true;
}

/** What a symlink points to, for GlobCacheEntry.links. */
function linkKind(path: string): string {
  try {
    const st = statSync(path);
    return st.isFile() ? 'f' : st.isDirectory() ? 'd' : '-';
  } catch {
    return '-';
  }
}

let picomatch: typeof import('picomatch') | undefined;

/** Files under `root` matching `pattern` (picomatch syntax, dotfiles excluded), project-relative and sorted. */
export async function expandGlob(root: string, pattern: string, cached: GlobCacheEntry | undefined): Promise<{ matches: string[]; entry: GlobCacheEntry; fresh: boolean }> {
  if (cached && stillValid(root, cached)) return { matches: cached.matches, entry: cached, fresh: false };
  picomatch ??= (await import('picomatch')).default as unknown as typeof import('picomatch');
  const isMatch = picomatch(pattern, { dot: false });
  const { base, depth } = baseOf(pattern);
  const listedAt = Date.now();
  const dirs: [string, number, number][] = [];
  const matches: string[] = [];
  const links: [string, string][] = [];
  const walk = (dir: string, level: number) => {
    let entries;
    try {
      entries = readdirSync(join(root, dir), { withFileTypes: true });
      const st = statSync(join(root, dir));
      dirs.push([dir, st.mtimeMs, st.ctimeMs]);
    } catch {
      return; // the base does not exist (yet): no matches; its parent's mtime is not watched, so re-list next time
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const rel = dir ? `${dir}/${e.name}` : e.name;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const kind = linkKind(join(root, rel));
        links.push([rel, kind]);
        isDir = kind === 'd';
        isFile = kind === 'f';
      }
      if (isDir && level + 1 < depth) walk(rel, level + 1);
      else if (isFile && isMatch(rel)) matches.push(rel);
    }
  };
  walk(base, 0);
  if (!dirs.some(([d]) => d === base)) dirs.push([base, -1, -1]); // forces a re-list until the base exists
  matches.sort();
  const entry: GlobCacheEntry = { dirs, matches, listedAt, ...(links.length > 0 ? { links } : {}) };
  return { matches, entry, fresh: true };
}
