import assert from "node:assert/strict";
import { test } from "node:test";
import { fromErrorBody, invalidField, unavailable } from "@skyferry/errors";
import { StorageError } from "@skyferry/storage";
import { MongoNetworkError, MongoServerError, MongoServerSelectionError } from "mongodb";
import { datasetNotOwned, integrityFailed, jobFailedPermanently } from "../src/errors.ts";
import { classifyWorkFailure, formatDuration, retryDelayMs } from "../src/reliability/failure.ts";

// The one classification of failures every worker path uses (issue 25). The errors are built as the
// drivers, the bus and the adapters build them.
const net = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
const nats = (code: string) => Object.assign(new Error(code), { name: "NatsError", code });
const provider = (status: number, name: string) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const kind = (err: unknown) => classifyWorkFailure(err).kind;

test("the database unreachable, without a primary or shutting down is transient, also behind a cause", () => {
  assert.deepEqual(classifyWorkFailure(new MongoNetworkError("connection 3 to 127.0.0.1:27017 closed")), { kind: "transient", source: "database", reason: "The database was unreachable." });
  assert.equal(kind(new MongoServerSelectionError("Server selection timed out after 3000 ms", { type: "Unknown", servers: new Map(), stale: false, compatible: true, heartbeatFrequencyMS: 1, localThresholdMS: 1, setName: null, maxElectionId: null, maxSetVersion: null, commonWireVersion: 0, logicalSessionTimeoutMinutes: null } as never)), "transient");
  assert.equal(kind(new MongoServerError({ message: "not primary", code: 10107 })), "transient");
  assert.equal(kind(new MongoServerError({ message: "shutting down", code: 91 })), "transient");
  assert.equal(kind(new Error("wrapped", { cause: new MongoNetworkError("reset") })), "transient");
});

test("a refused database write (duplicate key, validation) is permanent", () => {
  assert.equal(kind(new MongoServerError({ message: "E11000 duplicate key", code: 11000 })), "permanent");
  assert.equal(kind(new MongoServerError({ message: "bad query", code: 2 })), "permanent");
});

test("NATS timeouts, no responders and a closed or reconnecting connection are transient; so is a service answering that its database is down", () => {
  for (const code of ["TIMEOUT", "503", "CONNECTION_CLOSED", "DISCONNECT"]) assert.equal(kind(nats(code)), "transient", code);
  assert.equal(kind(nats("PERMISSIONS_VIOLATION")), "permanent");
  assert.equal(classifyWorkFailure(unavailable("BUS_TIMEOUT", "No reply on t.history.rpc.x.v1 within 10000 ms.")).source, "bus");
  // What crosses NATS from history when its database is down (bus rpc `isUnavailable`).
  const reply = fromErrorBody({ code: "SERVICE_UNAVAILABLE", message: "The service answering s cannot reach a dependency; try again.", status: 503, err_code: 503001, retryable: true });
  assert.deepEqual([classifyWorkFailure(reply).kind, classifyWorkFailure(reply).source], ["transient", "service"]);
  // Another service's internal error is retried within the patience (bench:chaos seed 1, issue 25).
  const internalReply = classifyWorkFailure(fromErrorBody({ code: "INTERNAL", message: "Internal error.", status: 500, err_code: 500001 }));
  assert.deepEqual([internalReply.kind, internalReply.source], ["transient", "service"]);
});

test("provider 5xx, 429, SlowDown, resets, timeouts and DNS failures are transient; access denied, no such bucket, bad keys and integrity are permanent", () => {
  const storage = (code: ConstructorParameters<typeof StorageError>[0], cause?: unknown) => new StorageError(code, "m", cause === undefined ? {} : { cause });
  assert.equal(kind(storage("TRANSIENT", provider(503, "SlowDown"))), "transient");
  assert.equal(kind(storage("TRANSIENT", provider(429, "TooManyRequests"))), "transient");
  assert.equal(kind(storage("TRANSIENT", provider(500, "InternalError"))), "transient");
  assert.equal(kind(storage("UNKNOWN", net("ECONNRESET"))), "transient");
  assert.equal(kind(storage("UNKNOWN", net("ENOTFOUND"))), "transient");
  assert.equal(classifyWorkFailure(storage("UNKNOWN", net("ETIMEDOUT"))).reason, "The storage endpoint did not answer in time.");
  assert.equal(kind(storage("ACCESS_DENIED", provider(403, "AccessDenied"))), "permanent");
  assert.equal(kind(storage("NOT_FOUND", provider(404, "NoSuchBucket"))), "permanent");
  assert.equal(kind(storage("INVALID_CREDENTIALS", provider(403, "InvalidAccessKeyId"))), "permanent");
  assert.equal(kind(storage("INTEGRITY")), "permanent");
  assert.equal(kind(storage("OUTBOUND_REFUSED")), "permanent");
  assert.equal(kind(storage("INVALID_ARGUMENT", provider(400, "InvalidArgument"))), "permanent");
});

test("reading our own dataset: a network fault is transient, anything else permanent", () => {
  assert.equal(kind(new StorageError("SOURCE", "read failed", { cause: net("ECONNRESET") })), "transient");
  assert.equal(kind(new StorageError("SOURCE", "read failed", { cause: Object.assign(new Error("no file"), { code: "ENOENT" }) })), "permanent");
});

test("our own validation and integrity errors, a dataset not the user's and unknown errors are permanent; a bare network error is transient", () => {
  assert.equal(kind(invalidField("bucket", "bad")), "permanent");
  assert.equal(kind(integrityFailed("sha256 differs")), "permanent");
  assert.equal(kind(datasetNotOwned("d")), "permanent");
  assert.equal(kind(new TypeError("x is undefined")), "permanent");
  assert.equal(kind(net("ECONNREFUSED")), "transient");
  assert.equal(kind(net("EAI_AGAIN")), "transient");
  assert.equal(kind(jobFailedPermanently("j", invalidField("k", "bad"))), "permanent");
});

test("the retry delay doubles from 1 s per delivery up to its cap; durations read as people write them", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 40].map((n) => retryDelayMs(n, 60_000)), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  assert.equal(retryDelayMs(3, 2500), 2500);
  assert.deepEqual([0, 4_200, 900_000, 3_723_000].map(formatDuration), ["0s", "4s", "15m", "1h 2m 3s"]);
});
