import type { CloudAuthzTestResult, CloudAuthzView } from "@skyferry/contracts";
import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { formatTime } from "../../ui/format.ts";
import { ErrorBox, Loading, Notice } from "../../ui/messages.tsx";
import { useAction, useLoad } from "../../ui/use-load.ts";
import { AuthzForm } from "./authz-form.tsx";

const STATUS_WORDS: Record<string, string> = { untested: "not used yet", ok: "working", needs_reauth: "sign in again", refused: "refused" };

/** The caller's cloud authorizations: list, create, edit, delete, test access. */
export function CloudAuthzPage() {
  const list = useLoad(() => call(() => sky.api.GET("/api/cloud/authz")));
  const identities = useLoad(() => call(() => sky.api.GET("/authnz/")));
  const [form, setForm] = useState<{ editing?: CloudAuthzView } | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const remove = useAction();

  const onDelete = (a: CloudAuthzView) =>
    remove.run(async () => {
      if (!confirm(`Delete the ${a.provider} authorization "${a.description || a.id}"? Sends using it will fail.`)) return;
      await call(() => sky.api.DELETE("/api/cloud/authz/{id}", { params: { path: { id: a.id } } }));
      setNotice(`Deleted authorization ${a.id}.`);
      list.reload();
    });

  return (
    <section aria-labelledby="authz-title">
      <h1 id="authz-title">Cloud authorizations</h1>
      <p>An authorization lets skyferry write to your own bucket or container. Secrets are stored encrypted and never shown again.</p>
      {notice ? <Notice>{notice}</Notice> : null}
      <ErrorBox error={remove.error} title="Not deleted" />
      {form ? (
        <AuthzForm
          editing={form.editing}
          identities={identities.data ?? []}
          onCancel={() => setForm(undefined)}
          onSaved={(saved) => {
            setForm(undefined);
            setNotice(`Saved ${saved.provider} authorization ${saved.id}.`);
            list.reload();
          }}
        />
      ) : (
        <button type="button" class="button-primary" onClick={() => { setNotice(undefined); setForm({}); }}>
          New authorization
        </button>
      )}
      {list.loading && !list.data ? <Loading what="authorizations" /> : null}
      <ErrorBox error={list.error} title="Could not list your authorizations" />
      {list.data && list.data.length === 0 ? <p class="muted">You have no cloud authorizations yet.</p> : null}
      {list.data && list.data.length > 0 ? (
        <ul class="cards" aria-label="Your cloud authorizations">
          {list.data.map((a) => (
            <li key={a.id} class="card" data-testid="authz-item" data-authz-id={a.id}>
              <div class="row spread">
                <h2 class="h3">
                  <span class="badge">{a.provider}</span> {a.description || <span class="muted">(no description)</span>}
                </h2>
                <span class={`status status-${a.status}`}>{STATUS_WORDS[a.status] ?? a.status}</span>
              </div>
              <dl class="facts">
                <dt>Id</dt>
                <dd class="mono">{a.id}</dd>
                <dt>Created</dt>
                <dd>{formatTime(a.create_time)}</dd>
                <dt>Last used</dt>
                <dd>{formatTime(a.last_activity)}</dd>
                {Object.entries(a.config).map(([k, v]) => [<dt key={`k-${k}`}>{k}</dt>, <dd key={`v-${k}`} class="mono">{String(v)}</dd>])}
              </dl>
              {a.status_reason ? <p class="muted">{a.status_reason}</p> : null}
              <TestAccess authz={a} onTested={list.reload} />
              <div class="row">
                <button type="button" onClick={() => { setNotice(undefined); setForm({ editing: a }); }}>
                  Edit
                </button>
                <button type="button" class="button-danger" disabled={remove.busy} onClick={() => void onDelete(a)}>
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

/** "Test access": obtains credentials for real and, with a bucket, checks access to it. */
function TestAccess({ authz, onTested }: { authz: CloudAuthzView; onTested: () => void }) {
  const [bucket, setBucket] = useState("");
  const [result, setResult] = useState<CloudAuthzTestResult | undefined>(undefined);
  const test = useAction();
  const id = `test-bucket-${authz.id}`;
  const run = (e: Event) => {
    e.preventDefault();
    setResult(undefined);
    void test.run(async () => {
      setResult(await call(() => sky.api.POST("/api/cloud/authz/{id}/test", { params: { path: { id: authz.id } }, body: bucket.trim() ? { bucket: bucket.trim() } : {} })));
      onTested();
    });
  };
  return (
    <form class="row test-access" onSubmit={run}>
      <label for={id}>{authz.provider === "azure" ? "Container" : "Bucket"} (optional)</label>
      <input id={id} value={bucket} onInput={(e) => setBucket(e.currentTarget.value)} />
      <button type="submit" disabled={test.busy}>
        {test.busy ? "Testing…" : "Test access"}
      </button>
      <div class="grow" aria-live="polite" data-testid="test-result">
        {result ? (
          result.ok ? (
            <span class="alert alert-ok inline-alert">
              Access works ({result.checked === "bucket" ? `${authz.provider === "azure" ? "container" : "bucket"} ${result.bucket ?? ""}` : result.checked === "account" ? "account" : "credentials issued"}
              {result.expires_at ? `; credentials expire ${formatTime(result.expires_at)}` : ""}).
            </span>
          ) : (
            <span class="alert alert-error inline-alert">
              Refused{result.code ? ` (${result.code})` : ""}: {result.reason ?? "the provider gave no reason"}
            </span>
          )
        ) : null}
        <ErrorBox error={test.error} title="Test failed" />
      </div>
    </form>
  );
}
