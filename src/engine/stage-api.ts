// The contract between the engine and a module stage. A stage module's default export is a StageFunction.
// Stages see only what they declare: the params they list, the inputs they name, the deps they list.

export interface StageContext {
  /** the stage's name in pipeline.yaml */
  readonly stage: string;
  /** the declared params only, as a nested object: declaring `weights.distance_decay` gives `{ weights: { distance_decay: 2 } }` */
  readonly params: Readonly<Record<string, unknown>>;
  /** one declared param by its dotted key; throws when the stage did not declare it */
  param<T = unknown>(dottedKey: string): T;
  /** the declared inputs, by their local name, as parsed JSON (schema-validated upstream) */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** absolute paths of the declared deps, globs expanded, sorted */
  readonly deps: readonly string[];
  /** absolute path of a declared dep, given as written in pipeline.yaml (relative to the project root); throws if undeclared */
  dep(relativePath: string): string;
  /** absolute path of a file input (an upstream `outs` entry declared as a plain file) */
  inputPath(name: string): string;
  /** where to write a plain-file output (`outs` entry without a schema): a temp path the engine moves into the store */
  outPath(name: string): string;
  /** progress/diagnostic text, shown with the stage name and kept in the run log */
  log(message: string): void;
}

/** Returns the JSON outputs by name; plain-file outputs are written to ctx.outPath(name) instead. */
export type StageFunction = (ctx: StageContext) => Promise<Record<string, unknown>> | Record<string, unknown>;
