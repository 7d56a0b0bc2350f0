import { useState } from "preact/hooks";
import { ApiError, call, sky } from "../../api/client.ts";
import { formatTime } from "../../ui/format.ts";
import { ErrorBox, Loading, Notice } from "../../ui/messages.tsx";
import { useAction, useLoad } from "../../ui/use-load.ts";

const CURRENT = { params: { path: { id: "current" } } };

/** Galaxy's "User -> Manage API key": create (shown once), copy, revoke; the current key's date. */
export function ApiKeyPage() {
  const current = useLoad(() => call(() => sky.api.GET("/api/users/{id}/api_key/detailed", CURRENT)));
  const action = useAction();
  const [fresh, setFresh] = useState<string | undefined>(undefined);
  const [copied, setCopied] = useState(false);
  const [revoked, setRevoked] = useState(false);

  const create = () =>
    action.run(async () => {
      if (current.data && !confirm("Create a new key? The current key stops working at once.")) return;
      // The key is a bare JSON string (not described in /openapi.json: see test/integration/openapi.test.ts).
      const key: unknown = await call(() => sky.api.POST("/api/users/{id}/api_key", CURRENT));
      if (typeof key !== "string") throw new ApiError("The server answered without a key.", { status: 200 });
      setFresh(key);
      setCopied(false);
      setRevoked(false);
      current.reload();
    });
  const revoke = () =>
    action.run(async () => {
      if (!confirm("Revoke your API key? Scripts using it stop working.")) return;
      await call(() => sky.api.DELETE("/api/users/{id}/api_key", CURRENT));
      setFresh(undefined);
      setRevoked(true);
      current.reload();
    });
  const copy = async () => {
    if (!fresh) return;
    try {
      await navigator.clipboard.writeText(fresh);
      setCopied(true);
    } catch {
      // No clipboard permission (e.g. plain http): select the key so Ctrl-C copies it.
      const field = document.getElementById("new-api-key") as HTMLInputElement | null;
      field?.select();
    }
  };

  return (
    <section aria-labelledby="key-title">
      <h1 id="key-title">API key</h1>
      <p>
        Scripts authenticate with <code>?key=…</code> or the <code>x-api-key</code> header. You have at most one key: creating a new one
        revokes the old. A key is shown only once, when it is created.
      </p>
      {current.loading && !current.data ? <Loading what="your key" /> : null}
      <ErrorBox error={current.error} />
      {!current.loading && !current.error ? (
        current.data ? (
          <p data-testid="key-status">
            Your current key <code>{current.data.key.replace(/\*{4,}/, "…")}</code> was created on <time dateTime={current.data.create_time}>{formatTime(current.data.create_time)}</time>.
          </p>
        ) : (
          <p data-testid="key-status">You have no API key.</p>
        )
      ) : null}
      {fresh ? (
        <div class="card" data-testid="new-key">
          <label for="new-api-key">Your new API key (copy it now: it will not be shown again)</label>
          <div class="row">
            <input id="new-api-key" class="mono grow" readOnly value={fresh} onFocus={(e) => e.currentTarget.select()} />
            <button type="button" onClick={() => void copy()}>
              Copy
            </button>
          </div>
          {copied ? <Notice>Copied to the clipboard.</Notice> : null}
        </div>
      ) : null}
      {revoked ? <Notice>Your API key was revoked.</Notice> : null}
      <ErrorBox error={action.error} />
      <div class="row">
        <button type="button" class="button-primary" disabled={action.busy} onClick={() => void create()}>
          {current.data ? "Create a new key" : "Create a key"}
        </button>
        {current.data ? (
          <button type="button" class="button-danger" disabled={action.busy} onClick={() => void revoke()}>
            Revoke key
          </button>
        ) : null}
      </div>
    </section>
  );
}
