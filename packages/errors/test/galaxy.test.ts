import assert from "node:assert/strict";
import { test } from "node:test";
import { ID_FIELD, toGalaxyError } from "../src/galaxy.ts";
import { internal, notFound, unavailable } from "../src/index.ts";

test("a coded client error keeps its message, code and field; a server error's message stays inside", () => {
  assert.deepEqual(toGalaxyError(notFound("X_NOT_FOUND", "No such x.")), { status: 404, body: { err_msg: "No such x.", err_code: 404001, code: "X_NOT_FOUND" } });
  assert.deepEqual(toGalaxyError(internal("X_BROKE", "secret detail")).body.err_msg, "Internal server error.");
  assert.deepEqual(toGalaxyError(unavailable("X_DOWN", "db at 10.0.0.1 down")).body.err_msg, "A service needed for this request is unavailable; try again shortly.");
});

test("Fastify's 4xx errors get Galaxy's code for their status, 403 and 429 included", () => {
  const codes = [401, 403, 404, 413, 429, 400].map((statusCode) => toGalaxyError({ statusCode, message: "m" }).body.err_code);
  assert.deepEqual(codes, [401001, 403002, 404001, 413001, 429001, 400008]);
  assert.equal(toGalaxyError({ statusCode: 400, code: "FST_ERR_CTP_INVALID_JSON_BODY", message: "Unexpected token" }).body.err_msg, "The request body is not valid JSON.");
});

test("a schema failure names the field: missing is 400007, invalid 400008", () => {
  const missing = toGalaxyError({ validation: [{ keyword: "required", instancePath: "", params: { missingProperty: "bucket" } }], validationContext: "body" });
  assert.deepEqual(missing, { status: 400, body: { err_msg: "The following required arguments are missing in the body: [bucket]", err_code: 400007, field: "bucket", code: "REQUEST_FIELD_MISSING" } });
  const invalid = toGalaxyError({ validation: [{ keyword: "maxLength", instancePath: "/echo", params: {}, message: "must NOT have more than 256 characters" }], validationContext: "querystring" });
  assert.deepEqual(invalid.body, { err_msg: "Invalid querystring field 'echo': must NOT have more than 256 characters.", err_code: 400008, field: "echo", code: "REQUEST_FIELD_INVALID" });
});

test("an id parameter that fails its pattern is a malformed id (400009) named by its schema", () => {
  const err = { validation: [{ keyword: "pattern", instancePath: "/id", params: { pattern: "^[0-9a-f]{16}$" }, message: "must match pattern" }], validationContext: "params" };
  const req = { params: { id: "nothex" }, routeOptions: { schema: { params: { properties: { id: { type: "string", [ID_FIELD]: "history_id" } } } } } };
  assert.deepEqual(toGalaxyError(err, req), {
    status: 400,
    body: { err_msg: "Invalid history_id: 'nothex' is not a valid id.", err_code: 400009, code: "REQUEST_ID_MALFORMED", field: "history_id" },
  });
  // Without the mark (any other pattern), an invalid field as before.
  assert.equal(toGalaxyError(err, { ...req, routeOptions: { schema: { params: { properties: { id: { type: "string" } } } } } }).body.err_code, 400008);
});
