import { useLayoutEffect, useState } from "preact/hooks";
import { query } from "../../api/client.ts";
import { href, navigate } from "../../route.ts";
import { AuthzField, AuthzProblems, useAuthzs } from "../../ui/authz-picker.tsx";
import { BucketField, bucketProblem } from "../../ui/bucket-field.tsx";
import { Loading } from "../../ui/messages.tsx";
import { BucketBrowser } from "./bucket-browser.tsx";
import { GetSummary } from "./get-result.tsx";
import { type GetResult, ImportForm } from "./import-form.tsx";
import { EMPTY_SELECTION, type Selection } from "./selection.ts";

/**
 * Get from cloud: choose an authorization and a bucket, browse it folder by folder and page by
 * page, select objects (or a whole folder), and copy them into a history. The authorization,
 * bucket and folder are in the address (`#/get?authz=…&bucket=…&prefix=…`), so Back goes up.
 */
export function GetPage({ params }: { params: URLSearchParams }) {
  const authzs = useAuthzs();
  const authzId = params.get("authz") ?? "";
  const bucket = params.get("bucket") ?? "";
  const prefix = params.get("prefix") ?? "";
  const historyParam = params.get("history") ?? undefined;
  const [draftAuthz, setDraftAuthz] = useState(authzId);
  const [draftBucket, setDraftBucket] = useState(bucket);
  const [selection, setSelection] = useState<Selection>(EMPTY_SELECTION);
  const [pageSize, setPageSize] = useState(50);
  const [queued, setQueued] = useState<{ result: GetResult; historyId: string } | undefined>(undefined);

  // A selection belongs to one bucket; the form follows the address (Back, a pasted link). A layout
  // effect: the reset lands before the new page is painted, never after someone typed into it.
  useLayoutEffect(() => {
    setSelection(EMPTY_SELECTION);
    setDraftAuthz(authzId);
    setDraftBucket(bucket);
  }, [authzId, bucket]);

  const chosenAuthz = draftAuthz || authzs.data?.[0]?.id || "";
  const badBucket = !!bucketProblem(draftBucket);
  const pageHref = (to: { authz: string; bucket: string; prefix: string }) => `${href("get")}${query({ authz: to.authz, bucket: to.bucket, prefix: to.prefix, history: historyParam })}`;
  const browse = (e: Event) => {
    e.preventDefault();
    if (!chosenAuthz || !draftBucket.trim() || badBucket) return;
    navigate(pageHref({ authz: chosenAuthz, bucket: draftBucket.trim(), prefix: "" }));
  };
  const browsing = authzId !== "" && bucket !== "";

  return (
    <section aria-labelledby="get-title">
      <h1 id="get-title">Get from cloud</h1>
      <p>Browse a bucket or container you have an authorization for and copy objects into a history: one new dataset and one job per object, checked as it lands.</p>
      {authzs.loading && !authzs.data ? <Loading what="your authorizations" /> : null}
      <AuthzProblems authzs={authzs} />
      <form class="form card row get-source" onSubmit={browse} noValidate aria-label="Bucket to browse">
        <AuthzField id="get-authz" grow authzs={authzs.data} value={chosenAuthz} onChange={setDraftAuthz} />
        <BucketField id="get-bucket" grow value={draftBucket} onInput={setDraftBucket} hint="its objects are listed folder by folder" />
        <button type="submit" class="button-primary" disabled={!chosenAuthz || !draftBucket.trim() || badBucket}>
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
