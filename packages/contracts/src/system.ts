import { Type } from "@sinclair/typebox";
import { defineRpc } from "./define.ts";

export const ServiceName = Type.Union([
  Type.Literal("gateway"),
  Type.Literal("authz"),
  Type.Literal("history"),
  Type.Literal("transfer"),
]);

const PingRequest = Type.Object(
  { echo: Type.String({ maxLength: 256 }) },
  { additionalProperties: false },
);
const PingResponse = Type.Object({
  service: ServiceName,
  instance: Type.String(),
  echo: Type.String({ maxLength: 256 }),
  time: Type.String({ format: "date-time" }),
});

/** Liveness over the bus: every service answers its own ping in its queue group. */
export const SystemPing = {
  authz: defineRpc("system.ping.authz", 1, PingRequest, PingResponse),
  history: defineRpc("system.ping.history", 1, PingRequest, PingResponse),
  transfer: defineRpc("system.ping.transfer", 1, PingRequest, PingResponse),
} as const;
