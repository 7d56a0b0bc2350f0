import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { configPath, readConfig, resolveSettings, saveProfile, tooOpen } from "../src/config.ts";
import { CliError } from "../src/errors.ts";

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "skyferry-config-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("config.toml and profiles", () => {
  test("lives in ~/.config/skyferry, or under XDG_CONFIG_HOME when that is an absolute path", () => {
    assert.equal(configPath({ HOME: "/home/ada" }), "/home/ada/.config/skyferry/config.toml");
    assert.equal(configPath({ HOME: "/home/ada", XDG_CONFIG_HOME: "/xdg" }), "/xdg/skyferry/config.toml");
    // The XDG spec: a relative value is invalid and ignored.
    assert.equal(configPath({ HOME: "/home/ada", XDG_CONFIG_HOME: "relative" }), "/home/ada/.config/skyferry/config.toml");
  });

  test("a saved profile is written 0600 in a 0700 folder, merged with the others; the first becomes the default", (t) => {
    const path = join(tempDir(t), "skyferry", "config.toml");
    saveProfile(path, "work", { server: "https://a.example", api_key: "k1" });
    saveProfile(path, "lab", { server: "https://b.example", api_key: "k2" });
    saveProfile(path, "work", { api_key: "k3" });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(path, "..")).mode & 0o777, 0o700);
    assert.deepEqual(readConfig(path), {
      default_profile: "work",
      profiles: { work: { server: "https://a.example", api_key: "k3" }, lab: { server: "https://b.example", api_key: "k2" } },
    });
    assert.match(readFileSync(path, "utf8"), /\[profiles\.work\]/);
  });

  test("saving tightens a file others could read", (t) => {
    const dir = tempDir(t);
    const path = join(dir, "config.toml");
    writeFileSync(path, '[profiles.default]\nserver = "http://x"\n');
    chmodSync(path, 0o644);
    assert.equal(tooOpen(path), true);
    saveProfile(path, "default", { api_key: "k" });
    assert.equal(tooOpen(path), false);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test("precedence: --server > SKYFERRY_URL > profile; SKYFERRY_API_KEY > profile; --profile > SKYFERRY_PROFILE > default_profile", () => {
    const config = { default_profile: "lab", profiles: { lab: { server: "http://lab", api_key: "klab" }, work: { server: "http://work", api_key: "kwork" } } };
    assert.deepEqual(resolveSettings(config, {}, {}), { profile: "lab", server: "http://lab", apiKey: "klab", source: { server: "profile", apiKey: "profile" } });
    assert.equal(resolveSettings(config, { SKYFERRY_PROFILE: "work" }, {}).server, "http://work");
    assert.equal(resolveSettings(config, { SKYFERRY_PROFILE: "work" }, { profile: "lab" }).server, "http://lab");
    const env = { SKYFERRY_URL: "http://env/", SKYFERRY_API_KEY: "kenv" };
    assert.deepEqual(resolveSettings(config, env, {}), { profile: "lab", server: "http://env", apiKey: "kenv", source: { server: "env", apiKey: "env" } });
    assert.equal(resolveSettings(config, env, { server: "http://flag" }).server, "http://flag");
    // Empty variables count as unset (as `SKYFERRY_URL= skyferry …` means).
    assert.equal(resolveSettings(config, { SKYFERRY_URL: "", SKYFERRY_API_KEY: "" }, {}).apiKey, "klab");
    assert.deepEqual(resolveSettings({ profiles: {} }, {}, {}), { profile: "default", server: undefined, apiKey: undefined, source: { server: "none", apiKey: "none" } });
  });

  test("naming a profile that does not exist is an error (CLI_CONFIG, exit 2), not an empty setting", () => {
    const config = { profiles: { lab: { server: "http://lab" } } };
    assert.throws(() => resolveSettings(config, {}, { profile: "lba" }), (err: unknown) => err instanceof CliError && err.code === "CLI_CONFIG" && err.exit === 2 && /known: lab/.test(err.message));
    assert.throws(() => resolveSettings(config, { SKYFERRY_PROFILE: "nope" }, {}), (err: unknown) => err instanceof CliError && err.code === "CLI_CONFIG");
  });

  test("a malformed file is reported with its path (CLI_CONFIG), never half-read", (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, "a"));
    const bad = join(dir, "a", "config.toml");
    writeFileSync(bad, "[profiles.x\nserver = 1\n");
    assert.throws(() => readConfig(bad), (err: unknown) => err instanceof CliError && err.code === "CLI_CONFIG" && err.message.startsWith(bad));
    writeFileSync(bad, "[profiles.x]\nserver = 1\n");
    assert.throws(() => readConfig(bad), /profiles\.x\.server must be a string/);
    assert.deepEqual(readConfig(join(dir, "missing.toml")), { profiles: {} });
  });
});
