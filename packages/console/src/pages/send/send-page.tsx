import type { SendResult } from "@skyferry/contracts";
import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { AuthzField, AuthzProblems, useAuthzs } from "../../ui/authz-picker.tsx";
import { BucketField, bucketProblem } from "../../ui/bucket-field.tsx";
import { formatBytes } from "../../ui/format.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { useAction, useLoad } from "../../ui/use-load.ts";

const POLICIES = [
  { value: "rename", label: "Keep both: add a time suffix to the new object" },
  { value: "skip", label: "Skip datasets whose object exists" },
  { value: "fail", label: "Fail the job if the object exists" },
  { value: "overwrite", label: "Overwrite the existing object" },
] as const;
const TEMPLATE_HELP = "placeholders {history_name} {history_id} {hid} {name} {dataset_id} {ext}; default {name}";

/** Send datasets (or a whole history) to a bucket; then follow the jobs. */
export function SendPage({ initialHistoryId }: { initialHistoryId?: string }) {
  const histories = useLoad(() => call(() => sky.api.GET("/api/histories", { params: { query: { keys: "id,name,count" } } })));
  const authzs = useAuthzs();
  const [historyId, setHistoryId] = useState(initialHistoryId ?? "");
  const chosenHistory = historyId || histories.data?.[0]?.id || "";
  const contents = useLoad(
    () => (chosenHistory ? call(() => sky.api.GET("/api/histories/{id}/contents", { params: { path: { id: chosenHistory }, query: { keys: "id,hid,name,extension,file_size,state,deleted" } } })) : Promise.resolve([])),
    [chosenHistory],
  );
  const [scope, setScope] = useState<"all" | "some">("all");
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [authzId, setAuthzId] = useState("");
  const [bucket, setBucket] = useState("");
  const [prefix, setPrefix] = useState("");
  const [template, setTemplate] = useState("");
  const [policy, setPolicy] = useState<(typeof POLICIES)[number]["value"]>("rename");
  const [result, setResult] = useState<SendResult | undefined>(undefined);
  const send = useAction();

  const chosenAuthz = authzId || authzs.data?.[0]?.id || "";
  const sendable = (contents.data ?? []).filter((d) => !d.deleted && d.state === "ok");
  const toggle = (id: string) =>
    setPicked((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  const submit = (e: Event) => {
    e.preventDefault();
    setResult(undefined);
    void send.run(async () => {
      const body = {
        history_id: chosenHistory,
        authz_id: chosenAuthz,
        bucket: bucket.trim(),
        ...(scope === "some" ? { dataset_ids: [...picked] } : {}),
        ...(prefix ? { prefix } : {}),
        ...(template.trim() ? { key_template: template.trim() } : {}),
        overwrite_policy: policy,
      };
      const res = await call(() => sky.api.POST("/api/cloud/storage/send", { body }));
      setResult(res);
      if (res.sent.length > 0 && res.failed.length === 0) location.hash = `${href("jobs")}?ids=${res.sent.map((s) => s.job_id).join(",")}`;
    });
  };

  const ready = chosenHistory && chosenAuthz && bucket.trim() && !bucketProblem(bucket) && (scope === "all" || picked.size > 0);
  return (
    <section aria-labelledby="send-title">
      <h1 id="send-title">Send to cloud</h1>
      <p>Copies datasets from a history to your bucket or container: one job per dataset, verified when it lands.</p>
      {histories.loading || authzs.loading ? <Loading what="your histories and authorizations" /> : null}
      <ErrorBox error={histories.error} title="Could not list your histories" />
      <AuthzProblems authzs={authzs} />
      <form class="form card" onSubmit={submit} noValidate>
        <div class="field">
          <label for="send-history">History</label>
          <select id="send-history" value={chosenHistory} onChange={(e) => { setHistoryId(e.currentTarget.value); setPicked(new Set()); }}>
            {(histories.data ?? []).map((h) => (
              <option key={h.id} value={h.id}>
                {h.name} ({h.count ?? 0} {h.count === 1 ? "item" : "items"})
              </option>
            ))}
          </select>
        </div>
        <fieldset class="field">
          <legend>Datasets</legend>
          <label class="inline">
            <input type="radio" name="send-scope" value="all" checked={scope === "all"} onChange={() => setScope("all")} /> The whole history ({sendable.length} ready)
          </label>
          <label class="inline">
            <input type="radio" name="send-scope" value="some" checked={scope === "some"} onChange={() => setScope("some")} /> Only the datasets I pick
          </label>
          {scope === "some" ? (
            <ul class="picklist" aria-label="Datasets to send">
              {contents.loading && !contents.data ? <Loading what="datasets" /> : null}
              <ErrorBox error={contents.error} />
              {sendable.map((d) => (
                <li key={d.id}>
                  <label class="inline">
                    <input type="checkbox" checked={picked.has(d.id!)} onChange={() => toggle(d.id!)} /> {d.hid}: {d.name} <span class="muted">({d.extension}, {formatBytes(d.file_size)})</span>
                  </label>
                </li>
              ))}
              {contents.data && sendable.length === 0 ? <li class="muted">No dataset of this history is ready (state ok).</li> : null}
            </ul>
          ) : null}
        </fieldset>
        <AuthzField id="send-authz" authzs={authzs.data} value={chosenAuthz} onChange={setAuthzId} />
        <BucketField id="send-bucket" value={bucket} onInput={setBucket} hint="the bucket or container must already exist" />
        <div class="field">
          <label for="send-prefix">Prefix</label>
          <input id="send-prefix" placeholder="results/" maxLength={512} value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} aria-describedby="send-prefix-hint" />
          <p id="send-prefix-hint" class="hint">text put before every object key</p>
        </div>
        <div class="field">
          <label for="send-template">Key template</label>
          <input id="send-template" placeholder="{name}" maxLength={512} value={template} onInput={(e) => setTemplate(e.currentTarget.value)} aria-describedby="send-template-hint" />
          <p id="send-template-hint" class="hint">{TEMPLATE_HELP}</p>
        </div>
        <div class="field">
          <label for="send-policy">When the object already exists</label>
          <select id="send-policy" value={policy} onChange={(e) => setPolicy(POLICIES.find((p) => p.value === e.currentTarget.value)?.value ?? "rename")}>
            {POLICIES.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <ErrorBox error={send.error} title="Not sent" />
        <button type="submit" class="button-primary" disabled={send.busy || !ready}>
          {send.busy ? "Sending…" : "Send"}
        </button>
      </form>
      {result ? <SendSummary result={result} /> : null}
    </section>
  );
}

function SendSummary({ result }: { result: SendResult }) {
  return (
    <div class="card" role="status" data-testid="send-result">
      <p>
        {result.sent.length} job(s) queued for <code>{result.bucket_name}</code>.{" "}
        {result.sent.length > 0 ? <a href={`${href("jobs")}?ids=${result.sent.map((s) => s.job_id).join(",")}`}>Follow them</a> : null}
      </p>
      {result.failed.length > 0 ? (
        <ul class="alert alert-error">
          {result.failed.map((f) => (
            <li key={f.object}>
              {f.object}: {f.error}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
