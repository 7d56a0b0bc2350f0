import { FormatRegistry, type Static, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";

if (!FormatRegistry.Has("date-time")) {
  FormatRegistry.Set("date-time", (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)));
}

export interface ValidationProblem {
  /** JSON-pointer-ish path to the bad field, e.g. `/data/history_id`. */
  path: string;
  message: string;
}

export interface Validator<T extends TSchema> {
  check(value: unknown): value is Static<T>;
  /** Every problem, for error replies that name the bad field. */
  problems(value: unknown): ValidationProblem[];
}

const cache = new WeakMap<TSchema, TypeCheck<TSchema>>();

/** Compiles a schema once and caches the checker; call it freely. */
export function validator<T extends TSchema>(schema: T): Validator<T> {
  let compiled = cache.get(schema) as TypeCheck<T> | undefined;
  if (!compiled) {
    compiled = TypeCompiler.Compile(schema);
    cache.set(schema, compiled);
  }
  const c = compiled;
  return {
    check: (value): value is Static<T> => c.Check(value),
    problems: (value) => [...c.Errors(value)].slice(0, 20).map((e) => ({ path: e.path, message: e.message })),
  };
}

/** The field name to report for a validation problem (last path segment, without the `data` wrapper). */
export function fieldOf(problem: ValidationProblem): string {
  const parts = problem.path.split("/").filter(Boolean);
  if (parts[0] === "data") parts.shift();
  return parts.join(".") || "(root)";
}
