export * from "./envelope.ts";
export * from "./define.ts";
export * from "./validate.ts";
export * from "./system.ts";
export * from "./authz.ts";
export * from "./history.ts";
export * from "./transfer.ts";
export * from "./permissions.ts";
