import { readFileSync } from "node:fs";
import { isCancel, password } from "@clack/prompts";
import type { Ctx } from "./context.ts";
import { CliError, EXIT } from "./errors.ts";

async function readStdin(ctx: Ctx): Promise<string> {
  let text = "";
  for await (const chunk of ctx.io.stdin) text += String(chunk);
  return text;
}

/**
 * A secret from a file (`-` = standard input) or, on a terminal, a hidden prompt. Never from argv:
 * command lines are visible to every user of the machine (ps) and kept in shell history.
 */
export async function readSecret(ctx: Ctx, what: string, file: string | undefined): Promise<string> {
  let value: string;
  if (file !== undefined) {
    try {
      value = file === "-" ? await readStdin(ctx) : readFileSync(file, "utf8");
    } catch (err) {
      throw new CliError("CLI_SECRET", `${what}: cannot read ${file}: ${(err as Error).message}`, EXIT.usage, err);
    }
  } else if (ctx.io.stdin.isTTY && ctx.io.stderr.isTTY) {
    const answer = await password({ message: what, input: ctx.io.stdin, output: ctx.io.stderr, validate: (v) => (v ? undefined : "required") });
    if (isCancel(answer)) throw new CliError("CLI_USAGE", "cancelled", EXIT.usage);
    value = answer;
  } else {
    throw new CliError("CLI_SECRET", `${what}: not on a terminal, so give a file (or - for standard input)`, EXIT.usage);
  }
  value = value.replace(/\r?\n$/, "");
  if (!value) throw new CliError("CLI_SECRET", `${what} is empty`, EXIT.usage);
  return value;
}
