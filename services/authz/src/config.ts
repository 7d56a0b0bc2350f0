import { type Static, Type } from "@sinclair/typebox";
import { BaseConfig } from "@skyferry/service-kit";

/** The authz service's settings, each read from the environment variable of the same name. */
export const AuthzConfig = Type.Object({
  ...BaseConfig,
  /** HTTP port for /healthz and /readyz. */
  PORT: Type.Integer({ default: 8081, minimum: 0, maximum: 65535 }),
});
export type AuthzConfig = Static<typeof AuthzConfig>;
