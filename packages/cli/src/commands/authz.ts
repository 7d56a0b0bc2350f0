import { ok } from "@skyferry/client/node";
import type { Command } from "commander";
import { EXIT } from "../errors.ts";
import { table } from "../format.ts";
import * as O from "../json-output.ts";
import type { Wrap } from "../main.ts";
import type { Ctx } from "../context.ts";
import { resolveAuthz } from "../resolve.ts";
import { readSecret } from "../secrets.ts";

async function create(ctx: Ctx, provider: "s3" | "aws" | "azure", config: Record<string, unknown>, extra: { description?: string; authn_id?: string }) {
  const a = ok(await ctx.sky().api.POST("/api/cloud/authz", { body: { provider, config, ...(extra.description ? { description: extra.description } : {}), ...(extra.authn_id ? { authn_id: extra.authn_id } : {}) } }));
  ctx.emit(O.AuthzOutput, a, () => ctx.print(`${ctx.out.green("✔")} created ${provider} authorization ${a.id}${a.description ? ` "${a.description}"` : ""}`));
}

export function registerAuthz(program: Command, wrap: Wrap): void {
  const authz = program.command("authz").description("Cloud authorizations: ls, add s3|aws|azure, test, rm (secrets from a file or a prompt, never from arguments)");
  authz
    .command("ls")
    .description("Your cloud authorizations (secrets masked)")
    .action(
      wrap(async (ctx) => {
        const all = ok(await ctx.sky().api.GET("/api/cloud/authz", {}));
        ctx.emit(O.AuthzListOutput, all, () => ctx.print(table(ctx.out, ["ID", "PROVIDER", "DESCRIPTION", "WHERE", "CREATED"], all.map((a) => [a.id, a.provider, a.description ?? "", where(a.config), a.create_time ?? ""]))));
      }),
    );
  const add = authz.command("add").description("Define a cloud authorization");
  add
    .command("s3")
    .description("An S3 or S3-compatible store with an access key (the secret key from --secret-key-file or a prompt)")
    .requiredOption("--endpoint <url>", "e.g. https://s3.example.org")
    .requiredOption("--access-key-id <id>", "the access key id")
    .option("--secret-key-file <file>", "the secret access key (- for standard input)")
    .option("--region <region>", "region", "us-east-1")
    .option("--virtual-hosted", "virtual-hosted-style addressing instead of path-style")
    .option("--description <text>", "a name to recognise it by (usable in place of its id)")
    .action(
      wrap(async (ctx, o: { endpoint: string; accessKeyId: string; secretKeyFile?: string; region: string; virtualHosted?: boolean; description?: string }) => {
        const secret = await readSecret(ctx, "S3 secret access key", o.secretKeyFile);
        await create(ctx, "s3", { endpoint: o.endpoint, access_key_id: o.accessKeyId, secret_access_key: secret, region: o.region, force_path_style: !o.virtualHosted }, o);
      }),
    );
  add
    .command("aws")
    .description("An AWS role assumed with your sign-in's ID token (no secret stored)")
    .requiredOption("--role-arn <arn>", "arn:aws:iam::<account>:role/<name>")
    .option("--region <region>", "region", "us-east-1")
    .option("--authn-id <id>", "which of your sign-in identities (skyferry's /authnz); default your only one")
    .option("--session-name <name>", "the role session name")
    .option("--description <text>", "a name to recognise it by")
    .action(
      wrap(async (ctx, o: { roleArn: string; region: string; authnId?: string; sessionName?: string; description?: string }) => {
        await create(ctx, "aws", { role_arn: o.roleArn, region: o.region, ...(o.sessionName ? { role_session_name: o.sessionName } : {}) }, { ...o, ...(o.authnId ? { authn_id: o.authnId } : {}) });
      }),
    );
  add
    .command("azure")
    .description("An Azure storage account: its account key (default), a SAS, or a service principal (--tenant-id, --client-id)")
    .requiredOption("--account <name>", "the storage account")
    .option("--endpoint <url>", "the blob endpoint, default https://<account>.blob.core.windows.net")
    .option("--account-key-file <file>", "the account key (- for standard input)")
    .option("--sas-file <file>", "a SAS query string instead of the account key")
    .option("--tenant-id <id>", "service principal: the tenant")
    .option("--client-id <id>", "service principal: the application id")
    .option("--client-secret-file <file>", "service principal: the client secret")
    .option("--description <text>", "a name to recognise it by")
    .action(
      wrap(async (ctx, o: { account: string; endpoint?: string; accountKeyFile?: string; sasFile?: string; tenantId?: string; clientId?: string; clientSecretFile?: string; description?: string }) => {
        const config: Record<string, unknown> = { storage_account: o.account, ...(o.endpoint ? { endpoint: o.endpoint } : {}) };
        if (o.tenantId || o.clientId) Object.assign(config, { tenant_id: o.tenantId, client_id: o.clientId, client_secret: await readSecret(ctx, "Azure client secret", o.clientSecretFile) });
        else if (o.sasFile) config.sas = await readSecret(ctx, "Azure SAS", o.sasFile);
        else config.account_key = await readSecret(ctx, "Azure account key", o.accountKeyFile);
        await create(ctx, "azure", config, o);
      }),
    );
  authz
    .command("test <authz>")
    .description("Obtain credentials for real and check access (to --bucket when given)")
    .option("--bucket <bucket>", "a bucket or container to check")
    .action(
      wrap(async (ctx, given: string, o: { bucket?: string }) => {
        const sky = ctx.sky();
        const a = await resolveAuthz(sky, given);
        const r = ok(await sky.api.POST("/api/cloud/authz/{id}/test", { params: { path: { id: a.id } }, body: o.bucket ? { bucket: o.bucket } : {} }));
        ctx.emit(O.AuthzTestOutput, r, () => ctx.print(r.ok ? `${ctx.out.green("✔")} ${a.id}: ${r.checked} ok${r.bucket ? ` (${r.bucket})` : ""}` : `${ctx.out.red("✖")} ${a.id}: ${r.code ?? ""} ${r.reason ?? ""}`));
        return r.ok ? EXIT.ok : EXIT.failed;
      }),
    );
  authz
    .command("rm <authz>")
    .description("Delete a cloud authorization (id or description)")
    .action(
      wrap(async (ctx, given: string) => {
        const sky = ctx.sky();
        const a = await resolveAuthz(sky, given);
        const gone = ok(await sky.api.DELETE("/api/cloud/authz/{id}", { params: { path: { id: a.id } } }));
        ctx.emit(O.AuthzOutput, gone, () => ctx.print(`${ctx.out.green("✔")} deleted ${a.id}`));
      }),
    );
}

function where(config: Record<string, unknown> | undefined): string {
  const c = config ?? {};
  return String(c.endpoint ?? c.role_arn ?? c.storage_account ?? "");
}
