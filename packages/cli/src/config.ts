import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { parse, stringify } from "smol-toml";
import { CliError, EXIT } from "./errors.ts";

/** One named profile in config.toml: which gateway, with which API key. */
export interface Profile {
  server?: string;
  api_key?: string;
}

/** `~/.config/skyferry/config.toml` (or under `$XDG_CONFIG_HOME`). */
export interface ConfigFile {
  /** The profile used without `--profile` / `SKYFERRY_PROFILE`; `default` when unset. */
  default_profile?: string;
  profiles: Record<string, Profile>;
}

export function configPath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith("/") ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), ".config");
  return join(base, "skyferry", "config.toml");
}

export function readConfig(path: string): ConfigFile {
  if (!existsSync(path)) return { profiles: {} };
  let raw: Record<string, unknown>;
  try {
    raw = parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new CliError("CLI_CONFIG", `${path}: ${(err as Error).message.split("\n")[0]}`, EXIT.usage, err);
  }
  const profiles: Record<string, Profile> = {};
  const given = raw.profiles ?? {};
  if (typeof given !== "object" || Array.isArray(given)) throw new CliError("CLI_CONFIG", `${path}: [profiles] must be a table`);
  for (const [name, p] of Object.entries(given as Record<string, unknown>)) {
    if (typeof p !== "object" || p === null || Array.isArray(p)) throw new CliError("CLI_CONFIG", `${path}: [profiles.${name}] must be a table`);
    const { server, api_key } = p as Record<string, unknown>;
    if (server !== undefined && typeof server !== "string") throw new CliError("CLI_CONFIG", `${path}: profiles.${name}.server must be a string`);
    if (api_key !== undefined && typeof api_key !== "string") throw new CliError("CLI_CONFIG", `${path}: profiles.${name}.api_key must be a string`);
    profiles[name] = { ...(server !== undefined ? { server } : {}), ...(api_key !== undefined ? { api_key } : {}) };
  }
  const def = raw.default_profile;
  if (def !== undefined && typeof def !== "string") throw new CliError("CLI_CONFIG", `${path}: default_profile must be a string`);
  return { ...(def !== undefined ? { default_profile: def } : {}), profiles };
}

/**
 * Writes the file readable by its owner only (0600, its folder 0700): it holds API keys. Written
 * to a temporary file first and renamed, so a crash never leaves half a file; an existing
 * file's mode is tightened too.
 */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, stringify(config as unknown as Record<string, unknown>) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** True when the file can be read by others than its owner (warned about, as ssh does). */
export function tooOpen(path: string): boolean {
  return existsSync(path) && (statSync(path).mode & 0o077) !== 0;
}

export interface Settings {
  profile: string;
  server: string | undefined;
  apiKey: string | undefined;
  /** Where each came from, for `skyferry config` style diagnostics and error messages. */
  source: { server: "flag" | "env" | "profile" | "none"; apiKey: "env" | "profile" | "none" };
}

/**
 * What a command runs with. Precedence: `--server` > `SKYFERRY_URL` > the profile; the API key:
 * `SKYFERRY_API_KEY` > the profile (a key is never read from argv, except by `login --api-key`).
 * The profile: `--profile` > `SKYFERRY_PROFILE` > `default_profile` > `default`.
 */
export function resolveSettings(config: ConfigFile, env: NodeJS.ProcessEnv, flags: { server?: string; profile?: string }): Settings {
  const profile = flags.profile ?? env.SKYFERRY_PROFILE ?? config.default_profile ?? "default";
  if ((flags.profile !== undefined || env.SKYFERRY_PROFILE) && !config.profiles[profile] && !env.SKYFERRY_URL && !flags.server) {
    // Naming a profile that does not exist is a typo, not "use nothing".
    const known = Object.keys(config.profiles);
    throw new CliError("CLI_CONFIG", `no profile "${profile}" (${known.length ? `known: ${known.join(", ")}` : "none defined: run skyferry login"})`);
  }
  const p = config.profiles[profile] ?? {};
  const server = flags.server ?? (env.SKYFERRY_URL || undefined) ?? p.server;
  const apiKey = (env.SKYFERRY_API_KEY || undefined) ?? p.api_key;
  return {
    profile,
    server: server?.replace(/\/+$/, ""),
    apiKey,
    source: {
      server: flags.server ? "flag" : env.SKYFERRY_URL ? "env" : p.server ? "profile" : "none",
      apiKey: env.SKYFERRY_API_KEY ? "env" : p.api_key ? "profile" : "none",
    },
  };
}

/** Stores `profile` (merged into what is there) and makes it the default when it is the only one. */
export function saveProfile(path: string, name: string, profile: Profile): ConfigFile {
  const config = readConfig(path);
  config.profiles[name] = { ...config.profiles[name], ...profile };
  if (!config.default_profile && Object.keys(config.profiles).length === 1) config.default_profile = name;
  writeConfig(path, config);
  return config;
}
