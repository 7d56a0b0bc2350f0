import { Command, CommanderError, Option } from "commander";
import { registerAuthz } from "./commands/authz.ts";
import { registerCompletion } from "./commands/completion.ts";
import { registerDatasets } from "./commands/datasets.ts";
import { registerHistories } from "./commands/histories.ts";
import { registerJobs } from "./commands/jobs.ts";
import { registerLogin } from "./commands/login.ts";
import { registerObjects } from "./commands/objects.ts";
import { registerSend } from "./commands/send.ts";
import { registerUpload } from "./commands/upload.ts";
import { createContext, type Ctx, type GlobalFlags, type Io } from "./context.ts";
import { errorLine, EXIT, exitCodeOf } from "./errors.ts";

export type { Io } from "./context.ts";
export { EXIT } from "./errors.ts";

/** A command's body: answers its exit status (0 when it returns nothing). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- commander passes positional arguments untyped
export type Action = (ctx: Ctx, ...args: any[]) => Promise<number | void>;
export type Wrap = (fn: Action) => (...args: unknown[]) => Promise<void>;

const HELP_FOOTER = `
Settings: --server > SKYFERRY_URL > the profile's server; SKYFERRY_API_KEY > the profile's key.
Profiles live in $XDG_CONFIG_HOME/skyferry/config.toml (default ~/.config/skyferry/config.toml, mode 0600).
Exit status: 0 all ok, 1 something failed, 2 usage (bad arguments), 3 authentication.
Errors are printed on stderr as "err_code: err_msg".`;

/** The program (also walked by `skyferry completion` to list commands and options). */
export function buildProgram(io: Io, state: { code: number }): Command {
  const program = new Command("skyferry")
    .description("Move datasets between skyferry histories and your cloud storage (S3, Azure Blob).")
    .version("0.1.0")
    .option("--server <url>", "the skyferry gateway, e.g. https://skyferry.example.org")
    .option("--profile <name>", "a profile of config.toml (default: default_profile, else \"default\")")
    .option("--json", "print one JSON document (JSON lines for watch) instead of text")
    .addOption(new Option("--no-color", "no colours (also: NO_COLOR, or when not a terminal)"))
    .addHelpText("after", HELP_FOOTER)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined });
  const wrap: Wrap = (fn) => async (...args) => {
    const cmd = args.at(-1) as Command;
    const ctx = createContext(io, cmd.optsWithGlobals<GlobalFlags>());
    // commander passes (positional..., options, command): the command's own options go second to last.
    state.code = (await fn(ctx, ...args.slice(0, -1))) ?? EXIT.ok;
  };
  registerLogin(program, wrap);
  registerHistories(program, wrap);
  registerUpload(program, wrap);
  registerDatasets(program, wrap);
  registerAuthz(program, wrap);
  registerSend(program, wrap);
  registerObjects(program, wrap);
  registerJobs(program, wrap);
  registerCompletion(program, wrap);
  // Every subcommand inherits the error routing and exit override.
  const configure = (c: Command) => {
    for (const sub of c.commands) {
      sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: () => undefined }).showSuggestionAfterError();
      configure(sub);
    }
  };
  configure(program);
  return program;
}

/** Runs the CLI with `argv` (without node and script) and answers its exit status. */
export async function runCli(argv: string[], io: Io): Promise<number> {
  const state = { code: EXIT.ok as number };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: "user" });
    return state.code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok; // --help, --version
      io.stderr.write(`CLI_USAGE: ${err.message.replace(/^error: /, "")}\n`);
      return EXIT.usage;
    }
    io.stderr.write(`${errorLine(err)}\n`);
    return exitCodeOf(err);
  }
}
