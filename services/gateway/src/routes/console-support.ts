import { Type } from "@sinclair/typebox";
import type { Bus } from "@skyferry/bus";
import { AuthzProvidersList, ProviderName } from "@skyferry/contracts";
import type { FastifyInstance } from "fastify";

const SignInProvider = Type.Object({
  name: ProviderName,
  /** Where a browser goes to sign in: the gateway redirects it to the provider. */
  login_url: Type.String(),
});

/** `GET /authnz/providers`: the configured sign-in providers, for the console's sign-in page (no auth). */
export async function consoleSupportRoutes(app: FastifyInstance, opts: { bus: Bus; timeoutMs: number }): Promise<void> {
  app.get(
    "/authnz/providers",
    { schema: { summary: "The configured OpenID Connect sign-in providers", response: { 200: Type.Array(SignInProvider) } } },
    async () => {
      const { providers } = await opts.bus.request(AuthzProvidersList, {}, { timeoutMs: opts.timeoutMs });
      return providers.map((p) => ({ name: p.name, login_url: `/authnz/${p.name}/login?redirect=true` }));
    },
  );
}
