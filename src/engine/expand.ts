// Expanded stages: a stage with `matrix:` (axes with value lists, Cartesian) or `foreach:` (a list of value sets)
// becomes one stage instance per value set, named `<stage>@<axis>=<value>[,<axis>=<value>…]`, e.g.
// `estimate@sample=leading`. Each instance binds its axis values as params (an axis key is a dotted param key; a key
// without a dot belongs to the stage: `sample` in stage `estimate` is `estimate.sample`), so they enter that instance's
// key only. Downstream stages take one instance's output (`estimate@sample=leading.models`) or gather all of them
// (`estimate@*.models`: one input per instance, `models@sample=all`, … in expansion order; see gatherInputs).
// Runs before the semantic checks of pipeline.ts, which then see instances as ordinary stages.
import { hashJson } from './hash.js';
import type { Pipeline, StageDecl } from './pipeline.js';

type Segment = string | number;
type Fail = (path: Segment[], message: string, extra?: { expected?: string; hint?: string; key?: boolean }) => never;

/** What an instance carries on its StageDecl. */
export interface InstanceInfo {
  /** the stage as written in pipeline.yaml (the template) */
  of: string;
  /** the part of the name after "@", e.g. "sample=leading" */
  suffix: string;
  /** dotted param key → value bound for this instance (overrides `params:` and --set for it) */
  params: Record<string, unknown>;
}

/** A named scalar in one of the stage's JSON outputs: `metrics: { b_funding: "models#/models/1/fit/coef/x" }`. */
export interface MetricDecl {
  output: string;
  /** RFC 6901 JSON pointer into the output */
  pointer: string;
}

export interface Expansion {
  /** the pipeline document with every expanded stage replaced by its instances and every input reference resolved */
  raw: { params?: Record<string, unknown>; stages: Record<string, RawStage> };
  instances: Record<string, InstanceInfo>;
  /** template name → instance names in expansion order */
  groups: Record<string, string[]>;
  metrics: Record<string, Record<string, MetricDecl>>;
}

interface RawStage {
  inputs?: Record<string, string>;
  outs?: Record<string, { schema?: string; file?: string; dir?: string }>;
  params?: string[];
  matrix?: Record<string, unknown[]>;
  foreach?: Record<string, unknown>[];
  metrics?: Record<string, string>;
  [key: string]: unknown;
}

const SAFE_STRING = /^[A-Za-z0-9_+-]+$/;
const MAX_NAME = 180;

/** A value as it appears in an instance name: filesystem- and shell-safe, without dots (which separate "stage.output"). */
export function encodeValue(value: unknown): string {
  if (typeof value === 'string' && SAFE_STRING.test(value)) return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value).replace('.', 'p');
  if (typeof value === 'boolean' || value === null) return String(value);
  return `~${shortHash(value)}`;
}

function shortHash(value: unknown): string {
  const h = hashJson(value);
  return h.slice(h.indexOf(':') + 1, h.indexOf(':') + 11);
}

/** `sample` in stage `estimate` is `estimate.sample`; a dotted key is a top-level param key as written. */
export function axisParamKey(stage: string, axis: string): string {
  return axis.includes('.') ? axis : `${stage}.${axis}`;
}

function labels(axes: string[]): Map<string, string> {
  const last = (a: string) => a.split('.').pop() as string;
  const counts = new Map<string, number>();
  for (const a of axes) counts.set(last(a), (counts.get(last(a)) ?? 0) + 1);
  return new Map(axes.map((a) => [a, (counts.get(last(a)) ?? 0) > 1 ? a.replace(/\./g, '_') : last(a)]));
}

function cartesian(axes: [string, unknown[]][]): Record<string, unknown>[] {
  let sets: Record<string, unknown>[] = [{}];
  for (const [axis, values] of axes) sets = sets.flatMap((set) => values.map((v) => ({ ...set, [axis]: v })));
  return sets;
}

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const INSTANCE_OUT = '{instance}';

export function expandStages(document: unknown, fail: Fail): Expansion {
  const data = document as { params?: Record<string, unknown>; stages: Record<string, RawStage> };
  const stages: Record<string, RawStage> = {};
  const instances: Record<string, InstanceInfo> = {};
  const groups: Record<string, string[]> = {};
  const metrics: Record<string, Record<string, MetricDecl>> = {};
  /** stage name as written → the names it became (itself when not expanded) */
  const became = new Map<string, string[]>();

  for (const [name, stage] of Object.entries(data.stages)) {
    const at = ['stages', name];
    const declared: Record<string, MetricDecl> = {};
    for (const [metric, spec] of Object.entries(stage.metrics ?? {})) {
      const hash = spec.indexOf('#');
      const output = hash < 0 ? spec : spec.slice(0, hash);
      const pointer = hash < 0 ? '' : spec.slice(hash + 1);
      const out = stage.outs?.[output];
      if (out === undefined || out.schema === undefined) {
        fail([...at, 'metrics', metric], `stage "${name}", metric "${metric}": "${output}" is not a JSON output of the stage`, {
          expected: `"<output>#<JSON pointer>" with one of: ${Object.entries(stage.outs ?? {}).filter(([, o]) => o.schema).map(([n]) => n).join(', ') || '(no JSON outputs)'}`,
        });
      }
      if (pointer !== '' && !pointer.startsWith('/')) {
        fail([...at, 'metrics', metric], `stage "${name}", metric "${metric}": "${pointer}" is not a JSON pointer`, { expected: 'a pointer such as #/models/0/fit/coef/x (RFC 6901)' });
      }
      declared[metric] = { output, pointer };
    }
    if (stage.matrix === undefined && stage.foreach === undefined) {
      stages[name] = stage;
      became.set(name, [name]);
      if (Object.keys(declared).length > 0) metrics[name] = declared;
      continue;
    }
    if (stage.matrix !== undefined && stage.foreach !== undefined) {
      fail([...at, 'foreach'], `stage "${name}" declares both matrix and foreach`, { key: true, expected: 'one of matrix (axes, Cartesian) or foreach (a list of value sets)' });
    }
    let sets: Record<string, unknown>[];
    let where: (i: number, axis: string) => Segment[];
    if (stage.matrix !== undefined) {
      sets = cartesian(Object.entries(stage.matrix));
      const axes = Object.keys(stage.matrix);
      // the i-th set's value on an axis sits at a position given by the mixed-radix digits of i
      where = (i, axis) => {
        let rest = i;
        const digits = new Map<string, number>();
        for (const a of [...axes].reverse()) {
          const n = (stage.matrix as Record<string, unknown[]>)[a].length;
          digits.set(a, rest % n);
          rest = Math.floor(rest / n);
        }
        return [...at, 'matrix', axis, digits.get(axis) ?? 0];
      };
    } else {
      sets = stage.foreach as Record<string, unknown>[];
      where = (i, axis) => [...at, 'foreach', i, axis];
    }
    const names: string[] = [];
    const seen = new Map<string, number>();
    sets.forEach((set, i) => {
      const axes = Object.keys(set);
      const label = labels(axes);
      let suffix = axes.map((a) => `${label.get(a)}=${encodeValue(set[a])}`).join(',');
      if (name.length + 1 + suffix.length > MAX_NAME) suffix = `~${shortHash(set)}`;
      const instance = `${name}@${suffix}`;
      const before = seen.get(instance);
      if (before !== undefined) {
        const axis = axes.find((a) => encodeValue(set[a]) !== encodeValue(sets[before][a])) ?? axes[axes.length - 1];
        fail(where(i, axis), `stage "${name}", axis "${axis}": value set ${i + 1} gives the instance name "${instance}" again (as value set ${before + 1} does)`, {
          expected: 'distinct values on every axis (a string "1" and the number 1 share a name)',
        });
      }
      seen.set(instance, i);
      const bound: Record<string, unknown> = {};
      for (const a of axes) bound[axisParamKey(name, a)] = set[a];
      const { matrix: _m, foreach: _f, ...rest } = stage;
      const outs: RawStage['outs'] = {};
      for (const [outName, o] of Object.entries(stage.outs ?? {})) {
        const path = o.file ?? o.dir;
        if (path === undefined) {
          outs[outName] = o;
          continue;
        }
        if (!path.includes(INSTANCE_OUT) && sets.length > 1) {
          fail([...at, 'outs', outName], `stage "${name}" expands into ${sets.length} instances, but its ${o.file !== undefined ? 'file' : 'dir'} output "${outName}" has one path for all of them`, {
            expected: `a path containing ${INSTANCE_OUT}, e.g. ${path.replace(/\/?$/, `/${INSTANCE_OUT}`)}`,
            hint: `${INSTANCE_OUT} becomes the instance's values (e.g. sample=leading)`,
          });
        }
        const resolved = path.split(INSTANCE_OUT).join(suffix);
        outs[outName] = o.file !== undefined ? { file: resolved } : { dir: resolved };
      }
      stages[instance] = { ...rest, outs };
      instances[instance] = { of: name, suffix, params: bound };
      if (Object.keys(declared).length > 0) metrics[instance] = declared;
      names.push(instance);
    });
    groups[name] = names;
    became.set(name, names);
  }

  // Resolve references to instances: one named instance, or `stage@*` (fan-in) for all of them.
  for (const [name, stage] of Object.entries(stages)) {
    if (stage.inputs === undefined) continue;
    const template = instances[name]?.of ?? name;
    const inputs: Record<string, string> = {};
    for (const [local, ref] of Object.entries(stage.inputs)) {
      const dot = ref.lastIndexOf('.');
      const from = ref.slice(0, dot);
      const output = ref.slice(dot + 1);
      const at = ['stages', template, 'inputs', local];
      const [base, selector] = from.includes('@') ? [from.slice(0, from.indexOf('@')), from.slice(from.indexOf('@') + 1)] : [from, undefined];
      const expanded = groups[base];
      if (selector === undefined) {
        if (expanded !== undefined) {
          fail(at, `stage "${template}", input "${local}": stage "${base}" is expanded into ${expanded.length} instances; "${ref}" does not say which`, {
            expected: `one instance (${expanded[0]}.${output}) or all of them (${base}@*.${output})`,
          });
        }
        inputs[local] = ref;
        continue;
      }
      if (expanded === undefined) {
        fail(at, `stage "${template}", input "${local}": stage "${base}" has no matrix or foreach, so "${ref}" names no instance`, {
          expected: `${base}.${output}`,
        });
      }
      if (selector === '*') {
        for (const instance of expanded) inputs[`${local}@${instances[instance].suffix}`] = `${instance}.${output}`;
        continue;
      }
      if (!expanded.includes(from)) {
        fail(at, `stage "${template}", input "${local}": no instance "${from}"`, {
          expected: `one of: ${expanded.join(', ')} (or ${base}@* for all)`,
        });
      }
      inputs[local] = ref;
    }
    stages[name] = { ...stage, inputs };
  }
  return { raw: { ...data, stages }, instances, groups, metrics };
}

/** After the semantic checks: instances declare their axis params and carry their bound values; metrics attach. */
export function finishExpansion<T extends { stages: Record<string, StageDecl> }>(pipeline: T, expansion: Expansion): T & { groups?: Record<string, string[]> } {
  for (const [name, info] of Object.entries(expansion.instances)) {
    const stage = pipeline.stages[name];
    stage.params = [...new Set([...stage.params, ...Object.keys(info.params)])];
    stage.instance = info;
  }
  for (const [name, m] of Object.entries(expansion.metrics)) pipeline.stages[name].metrics = m;
  return Object.keys(expansion.groups).length > 0 ? { ...pipeline, groups: expansion.groups } : pipeline;
}

/** Stage targets with templates resolved: `estimate` or `estimate@*` names every instance of an expanded stage. */
export function resolveTargets(pipeline: Pick<Pipeline, 'stages'> & { groups?: Record<string, string[]> }, targets: string[]): string[] {
  return targets.flatMap((t) => {
    const base = t.endsWith('@*') ? t.slice(0, -2) : t;
    return pipeline.stages[t] === undefined && pipeline.groups?.[base] ? pipeline.groups[base] : [t];
  });
}

/**
 * A fanned-in input as one map, instance suffix → value, in expansion order: `gatherInputs(ctx.inputs, 'models')`
 * for `inputs: { models: estimate@*.models }`.
 */
export function gatherInputs<T = unknown>(inputs: Record<string, unknown>, local: string): Record<string, T> {
  const prefix = `${local}@`;
  const out: Record<string, T> = {};
  for (const [name, value] of Object.entries(inputs)) if (name.startsWith(prefix)) out[name.slice(prefix.length)] = value as T;
  return out;
}
