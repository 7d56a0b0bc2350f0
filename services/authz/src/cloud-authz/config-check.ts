import type { Static, TObject } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import { invalidField, missingField } from "@skyferry/errors";

const compiled = new WeakMap<TObject, TypeCheck<TObject>>();

/**
 * Checks a provider config against its schema (defaults applied, unknown keys refused) and
 * throws 400007 / 400008 naming the first offending field as `config.<name>`. Values are never
 * echoed: they may be secrets.
 */
export function checkConfig<S extends TObject>(provider: string, schema: S, raw: Record<string, unknown>): Static<S> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  const value = Value.Default(schema, Value.Clone(raw)) as Record<string, unknown>;
  const first = check.Errors(value).First();
  if (!first) return value as Static<S>;
  const key = first.path.split("/").filter(Boolean).join(".");
  if (first.type === ValueErrorType.ObjectAdditionalProperties) {
    const extra = Object.keys(value).find((k) => !(k in schema.properties)) ?? key;
    const field = `config.${extra}`;
    throw invalidField(field, `Invalid ${field}: not a setting of provider '${provider}' (settings: ${Object.keys(schema.properties).join(", ")}).`);
  }
  const field = `config.${key}`;
  if (first.type === ValueErrorType.ObjectRequiredProperty) {
    throw missingField(field, `The following required arguments are missing in the payload: [${field}] (provider '${provider}').`);
  }
  const hint = (first.schema as { description?: string }).description;
  throw invalidField(field, `Invalid ${field}: ${hint ?? first.message}.`);
}
