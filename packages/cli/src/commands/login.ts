import { ok } from "@skyferry/client/node";
import type { Command } from "commander";
import { saveProfile, tooOpen } from "../config.ts";
import { CliError, EXIT } from "../errors.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import { readSecret } from "../secrets.ts";

export function registerLogin(program: Command, wrap: Wrap): void {
  program
    .command("login")
    .description("Store an API key for a server in a profile. Without --api-key/--api-key-file, prints (and opens) the console's API key page and asks for the key.")
    .option("--api-key <key>", "the key, non-interactively (prefer --api-key-file or SKYFERRY_API_KEY: argv is visible to other users)")
    .option("--api-key-file <file>", "read the key from a file (- for standard input)")
    .option("--no-browser", "only print the sign-in URL")
    .action(
      wrap(async (ctx, opts: { apiKey?: string; apiKeyFile?: string; browser: boolean }) => {
        const s = ctx.settings();
        if (!s.server) throw new CliError("CLI_NO_SERVER", "which server? pass --server URL (or set SKYFERRY_URL)", EXIT.usage);
        let key = opts.apiKey;
        if (key === undefined && opts.apiKeyFile === undefined) {
          const url = `${s.server}/#/key`;
          ctx.io.stderr.write(`Sign in and create an API key at:\n\n  ${ctx.err.underline(url)}\n\n`);
          if (opts.browser && ctx.io.stdin.isTTY && ctx.io.openUrl) await ctx.io.openUrl(url);
        }
        key ??= await readSecret(ctx, "API key", opts.apiKeyFile);
        const sky = ctx.sky({ anonymous: true });
        const user = ok(await sky.api.GET("/api/users/current", { headers: { "x-api-key": key } }));
        if (!user || typeof user !== "object" || !("id" in user) || !user.id) throw new CliError("CLI_NO_API_KEY", "the server did not accept the key", EXIT.auth);
        saveProfile(ctx.configPath, s.profile, { server: s.server, api_key: key });
        ctx.emit(O.LoginOutput, { profile: s.profile, server: s.server, user: { id: user.id, email: user.email ?? null, username: user.username ?? null }, config: ctx.configPath }, () => {
          ctx.print(`${ctx.out.green("✔")} signed in to ${s.server} as ${user.email ?? user.username ?? user.id} (profile ${s.profile}, ${ctx.configPath})`);
          if (tooOpen(ctx.configPath)) ctx.note(ctx.err.yellow(`warning: ${ctx.configPath} is readable by others; chmod 600 it`));
        });
      }),
    );
  program
    .command("whoami")
    .description("The user the configured key belongs to")
    .action(
      wrap(async (ctx) => {
        const s = ctx.settings();
        const user = ok(await ctx.sky().api.GET("/api/users/current", {}));
        ctx.emit(O.WhoamiOutput, { profile: s.profile, server: s.server ?? "", user }, () => ctx.print(`${user.email ?? user.username ?? user.id} on ${s.server} (profile ${s.profile})`));
      }),
    );
}
