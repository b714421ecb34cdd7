// Checks of a stage's declared params: a wrong value is a clear error naming the param and how to set it.
import { SpillwayError } from '../errors.js';
import type { StageContext } from '../engine/stage-api.js';

function bad(key: string, value: unknown, expected: string): SpillwayError {
  return new SpillwayError('invalidPipeline', `param ${key} is ${JSON.stringify(value)}`, {
    field: key,
    expected,
    hint: `set params.${key} in pipeline.yaml, or override it with --set ${key}=…`,
  });
}

export function oneOf<T extends string>(ctx: StageContext, key: string, allowed: readonly T[]): T {
  const value = ctx.param<unknown>(key);
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw bad(key, value, `one of ${allowed.join(', ')}`);
  return value as T;
}

export function numberIn(ctx: StageContext, key: string, min: number, max: number, integer = false): number {
  const value = ctx.param<unknown>(key);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw bad(key, value, `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`);
  }
  return value;
}

export function yearRange(ctx: StageContext, key: string): [number, number] {
  const value = ctx.param<unknown>(key);
  if (!Array.isArray(value) || value.length !== 2 || !value.every(Number.isInteger) || value[0] > value[1]) {
    throw bad(key, value, 'two years [first, last] with first ≤ last');
  }
  return [value[0], value[1]];
}

export function stringList(ctx: StageContext, key: string): string[] {
  const value = ctx.param<unknown>(key);
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0)) throw bad(key, value, 'a list of non-empty strings');
  return value as string[];
}

export function regex(ctx: StageContext, key: string, flags: string): RegExp {
  const value = ctx.param<unknown>(key);
  if (typeof value !== 'string' || value.length === 0) throw bad(key, value, 'a non-empty regular expression (JavaScript syntax)');
  try {
    return new RegExp(value, flags);
  } catch (e) {
    throw bad(key, value, `a valid regular expression (${(e as Error).message})`);
  }
}
