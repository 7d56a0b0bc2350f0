import { useState } from "preact/hooks";
import { del, get, post } from "../../api/client.ts";
import { formatTime } from "../../ui/format.ts";
import { ErrorBox, Loading, Notice } from "../../ui/messages.tsx";
import { useAction, useLoad } from "../../ui/use-load.ts";

interface KeyDetails {
  key: string;
  create_time: string;
}

const KEY_PATH = "/api/users/current/api_key";

/** Galaxy's "User -> Manage API key": create (shown once), copy, revoke; the current key's date. */
export function ApiKeyPage() {
  const current = useLoad(() => get<KeyDetails | undefined>(`${KEY_PATH}/detailed`));
  const action = useAction();
  const [fresh, setFresh] = useState<string | undefined>(undefined);
  const [copied, setCopied] = useState(false);
  const [revoked, setRevoked] = useState(false);

  const create = () =>
    action.run(async () => {
      if (current.data && !confirm("Create a new key? The current key stops working at once.")) return;
      setFresh(await post<string>(KEY_PATH));
      setCopied(false);
      setRevoked(false);
      current.reload();
    });
  const revoke = () =>
    action.run(async () => {
      if (!confirm("Revoke your API key? Scripts using it stop working.")) return;
      await del(KEY_PATH);
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
