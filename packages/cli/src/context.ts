import { createSkyferry, type Skyferry } from "@skyferry/client/node";
import type { Readable, Writable } from "node:stream";
import type { Static, TSchema } from "@sinclair/typebox";
import pc from "picocolors";
import { configPath, readConfig, resolveSettings, type Settings } from "./config.ts";
import { CliError, EXIT } from "./errors.ts";

export type Colors = ReturnType<typeof pc.createColors>;

/** The process's streams and environment, passed in so tests run the CLI in-process. */
export interface Io {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  stdin: Readable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Opens a URL in a browser; false when it could not. */
  openUrl?: (url: string) => Promise<boolean>;
}

export interface GlobalFlags {
  server?: string;
  profile?: string;
  json?: boolean;
  color?: boolean;
}

/** What every command gets: output helpers, the settings, the SDK. */
export interface Ctx {
  io: Io;
  json: boolean;
  /** Colours for stdout / stderr: only on a terminal, never with NO_COLOR or --no-color. */
  out: Colors;
  err: Colors;
  configPath: string;
  settings(): Settings;
  /** The SDK for the resolved server and key; CLI_NO_SERVER / CLI_NO_API_KEY (exit 3) when missing. */
  sky(opts?: { anonymous?: boolean }): Skyferry;
  print(line?: string): void;
  /** Prints `data` (of `schema`, src/json-output.ts) as one JSON document with --json, else runs `human`. */
  emit<S extends TSchema>(schema: S, data: Static<S>, human: () => void): void;
  /** A note on stderr (never with --json, which keeps stderr for errors). */
  note(line: string): void;
}

export const colorEnabled = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag: boolean | undefined): boolean =>
  flag !== false && !!stream.isTTY && !("NO_COLOR" in env && env.NO_COLOR !== "") && env.TERM !== "dumb";

export function createContext(io: Io, flags: GlobalFlags): Ctx {
  const path = configPath(io.env);
  let settings: Settings | undefined;
  const ctx: Ctx = {
    io,
    json: !!flags.json,
    out: pc.createColors(colorEnabled(io.stdout, io.env, flags.color)),
    err: pc.createColors(colorEnabled(io.stderr, io.env, flags.color)),
    configPath: path,
    settings: () => (settings ??= resolveSettings(readConfig(path), io.env, flags)),
    sky(opts = {}) {
      const s = ctx.settings();
      if (!s.server) throw new CliError("CLI_NO_SERVER", "no server: pass --server URL, set SKYFERRY_URL, or run skyferry login", EXIT.auth);
      if (!s.apiKey && !opts.anonymous) throw new CliError("CLI_NO_API_KEY", `no API key for profile "${s.profile}": run skyferry login, or set SKYFERRY_API_KEY`, EXIT.auth);
      return createSkyferry({ baseUrl: s.server, ...(s.apiKey && !opts.anonymous ? { apiKey: s.apiKey } : {}), headers: { "user-agent": "skyferry-cli/0.1.0" } });
    },
    print: (line = "") => void io.stdout.write(`${line}\n`),
    emit(_schema, data, human) {
      if (ctx.json) io.stdout.write(`${JSON.stringify(data)}\n`);
      else human();
    },
    note(line) {
      if (!ctx.json) io.stderr.write(`${line}\n`);
    },
  };
  return ctx;
}
