// Writes a set of generated files (relative path → text) under a directory, creating subdirectories.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { SpillwayError } from '../errors.js';

export function writeFileTree(root: string, files: Record<string, string>): string[] {
  const written: string[] = [];
  for (const rel of Object.keys(files).sort()) {
    const clean = normalize(rel);
    if (clean.startsWith('..') || clean.startsWith('/')) {
      throw new SpillwayError('internal', `refusing to write "${rel}" outside the output directory`);
    }
    const path = join(root, clean);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, files[rel]);
    written.push(clean);
  }
  return written;
}
