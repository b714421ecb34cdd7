// The stage graph as the lockfile records it (inputs name their producing stage), for ordering exports.
import type { Lockfile } from '../engine/lockfile-format.js';
import { splitRef } from './project.js';

/** Stages upstream-first; ties broken by name so exports are deterministic. */
export function topologicalStages(lock: Lockfile): string[] {
  const names = Object.keys(lock.stages).sort();
  const upstream = new Map(names.map((n) => [n, new Set(Object.values(lock.stages[n].inputs).map((i) => splitRef(i.from)[0]).filter((u) => u in lock.stages))]));
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < names.length) {
    const ready = names.filter((n) => !done.has(n) && [...upstream.get(n)!].every((u) => done.has(u)));
    // a cycle cannot be recorded by the engine; if a hand-edited lockfile has one, fall back to name order
    const next = ready.length ? ready : names.filter((n) => !done.has(n));
    for (const n of next) {
      done.add(n);
      order.push(n);
    }
  }
  return order;
}
