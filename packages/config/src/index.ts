import { type Static, type TObject, type TSchema, Kind } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.problems = problems;
  }
}

/**
 * Reads a service's configuration from environment variables.
 *
 * Each property of `schema` is read from the environment variable of the same name
 * (properties are named in SCREAMING_SNAKE_CASE to match), converted to the schema's type,
 * defaulted, and checked. Every problem is reported at once; the result is frozen.
 */
export function loadConfig<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Readonly<Static<T>> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== "") raw[key] = parseValue(schema.properties[key] as TSchema, value);
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const problems = [...Value.Errors(schema, converted)].map((e) => {
    const name = e.path.replace(/^\//, "") || "(root)";
    const shown = isSecretName(name) ? "[redacted]" : JSON.stringify(e.value);
    return `${name}: ${e.message} (got ${shown})`;
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(converted as Static<T>);
}

function parseValue(schema: TSchema, value: string): unknown {
  const kind = schema[Kind];
  if (kind === "Array" || kind === "Object" || kind === "Record") {
    try {
      return JSON.parse(value);
    } catch {
      if (kind === "Array") return value.split(",").map((s) => s.trim()).filter(Boolean);
      return value;
    }
  }
  return value;
}

function isSecretName(name: string): boolean {
  return /SECRET|KEY|TOKEN|PASSWORD/i.test(name);
}
