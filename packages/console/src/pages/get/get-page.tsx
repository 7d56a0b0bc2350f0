import type { CloudAuthzView } from "@skyferry/contracts";
import { useEffect, useState } from "preact/hooks";
import { get, query } from "../../api/client.ts";
import { href, navigate } from "../../route.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { useLoad } from "../../ui/use-load.ts";
import { BucketBrowser } from "./bucket-browser.tsx";
import { GetSummary } from "./get-result.tsx";
import { type GetResult, ImportForm } from "./import-form.tsx";
import { EMPTY_SELECTION, type Selection } from "./selection.ts";

const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

/**
 * Get from cloud: choose an authorization and a bucket, browse it folder by folder and page by
 * page, select objects (or a whole folder), and copy them into a history. The authorization,
 * bucket and folder are in the address (`#/get?authz=…&bucket=…&prefix=…`), so Back goes up.
 */
export function GetPage({ params }: { params: URLSearchParams }) {
  const authzs = useLoad(() => get<CloudAuthzView[]>("/api/cloud/authz"));
  const authzId = params.get("authz") ?? "";
  const bucket = params.get("bucket") ?? "";
  const prefix = params.get("prefix") ?? "";
  const historyParam = params.get("history") ?? undefined;
  const [draftAuthz, setDraftAuthz] = useState(authzId);
  const [draftBucket, setDraftBucket] = useState(bucket);
  const [selection, setSelection] = useState<Selection>(EMPTY_SELECTION);
  const [pageSize, setPageSize] = useState(50);
  const [queued, setQueued] = useState<{ result: GetResult; historyId: string } | undefined>(undefined);

  // A selection belongs to one bucket; the form follows the address (Back, a pasted link).
  useEffect(() => {
    setSelection(EMPTY_SELECTION);
    setDraftAuthz(authzId);
    setDraftBucket(bucket);
  }, [authzId, bucket]);

  const chosenAuthz = draftAuthz || authzs.data?.[0]?.id || "";
  const bucketProblem = draftBucket && !BUCKET_RE.test(draftBucket.trim()) ? "A bucket name is 2-255 letters, digits, '.', '_' or '-', starting with a letter or digit." : undefined;
  const pageHref = (to: { authz: string; bucket: string; prefix: string }) => `${href("get")}${query({ authz: to.authz, bucket: to.bucket, prefix: to.prefix, history: historyParam })}`;
  const browse = (e: Event) => {
    e.preventDefault();
    if (!chosenAuthz || !draftBucket.trim() || bucketProblem) return;
    navigate(pageHref({ authz: chosenAuthz, bucket: draftBucket.trim(), prefix: "" }));
  };
  const browsing = authzId !== "" && bucket !== "";

  return (
    <section aria-labelledby="get-title">
      <h1 id="get-title">Get from cloud</h1>
      <p>Browse a bucket or container you have an authorization for and copy objects into a history: one new dataset and one job per object, checked as it lands.</p>
      {authzs.loading && !authzs.data ? <Loading what="your authorizations" /> : null}
      <ErrorBox error={authzs.error} title="Could not list your authorizations" />
      {authzs.data && authzs.data.length === 0 ? (
        <p class="alert alert-error" role="alert">
          You need a cloud authorization first: <a href={href("authz")}>create one</a>.
        </p>
      ) : null}
      <form class="form card row get-source" onSubmit={browse} noValidate aria-label="Bucket to browse">
        <div class="field grow">
          <label for="get-authz">Authorization</label>
          <select id="get-authz" value={chosenAuthz} onChange={(e) => setDraftAuthz(e.currentTarget.value)}>
            {(authzs.data ?? []).map((a) => (
              <option key={a.id} value={a.id}>
                {a.provider}: {a.description || a.id}
              </option>
            ))}
          </select>
        </div>
        <div class="field grow">
          <label for="get-bucket">Bucket or container</label>
          <input id="get-bucket" required value={draftBucket} aria-invalid={!!bucketProblem} aria-describedby="get-bucket-msg" onInput={(e) => setDraftBucket(e.currentTarget.value)} />
          <p id="get-bucket-msg" class={bucketProblem ? "field-error" : "hint"}>
            {bucketProblem ?? "its objects are listed folder by folder"}
          </p>
        </div>
        <button type="submit" class="button-primary" disabled={!chosenAuthz || !draftBucket.trim() || !!bucketProblem}>
          Browse
        </button>
      </form>
      {browsing ? (
        <>
          <BucketBrowser
            key={`${authzId}|${bucket}|${prefix}`}
            authzId={authzId}
            bucket={bucket}
            prefix={prefix}
            selection={selection}
            onSelect={setSelection}
            folderHref={(p) => pageHref({ authz: authzId, bucket, prefix: p })}
            pageSize={pageSize}
            onPageSize={setPageSize}
          />
          <ImportForm
            authzId={authzId}
            bucket={bucket}
            selection={selection}
            onSelect={setSelection}
            initialHistoryId={historyParam}
            onQueued={(result, historyId) => {
              setQueued({ result, historyId });
              setSelection(EMPTY_SELECTION);
            }}
          />
        </>
      ) : null}
      {queued ? <GetSummary result={queued.result} historyId={queued.historyId} /> : null}
    </section>
  );
}
