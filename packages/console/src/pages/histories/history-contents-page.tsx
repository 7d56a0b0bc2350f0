import type { DatasetObject, HistoryObject } from "@skyferry/contracts";
import { useEffect } from "preact/hooks";
import { get } from "../../api/client.ts";
import { href } from "../../route.ts";
import { formatBytes } from "../../ui/format.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { useLoad } from "../../ui/use-load.ts";
import { Uploader } from "./uploader.tsx";

const CONTENT_KEYS = "id,hid,name,extension,file_size,state,deleted,visible";
const BUSY_STATES = new Set(["new", "upload", "queued", "running", "setting_metadata"]);

/** One history's datasets (name, hid, datatype, size, state), uploads, downloads. */
export function HistoryContentsPage({ historyId }: { historyId: string }) {
  const history = useLoad(() => get<HistoryObject>(`/api/histories/${encodeURIComponent(historyId)}`), [historyId]);
  const contents = useLoad(() => get<DatasetObject[]>(`/api/histories/${encodeURIComponent(historyId)}/contents?keys=${CONTENT_KEYS}`), [historyId]);
  const datasets = (contents.data ?? []).filter((d) => !d.deleted);

  // Datasets still being ingested change state on their own: look again shortly.
  const busy = datasets.some((d) => d.state !== undefined && BUSY_STATES.has(d.state));
  useEffect(() => {
    if (!busy) return;
    const t = setTimeout(contents.reload, 1500);
    return () => clearTimeout(t);
  }, [busy, contents.data]);

  return (
    <section aria-labelledby="history-title">
      <p>
        <a href={href("histories")}>← All histories</a>
      </p>
      <h1 id="history-title">{history.data?.name ?? "History"}</h1>
      <ErrorBox error={history.error} />
      <Uploader historyId={historyId} onUploaded={contents.reload} />
      <div class="row spread">
        <h2>Datasets</h2>
        <div class="row">
          <a class="button" href={`${href("get")}?history=${historyId}`}>
            Get from cloud…
          </a>
          <a class="button" href={`${href("send")}?history=${historyId}`}>
            Send to cloud…
          </a>
        </div>
      </div>
      {contents.loading && !contents.data ? <Loading what="datasets" /> : null}
      <ErrorBox error={contents.error} title="Could not list the datasets" />
      {contents.data && datasets.length === 0 ? <p class="muted">This history is empty: drop files above to upload them.</p> : null}
      {datasets.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Datasets of this history</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Name</th>
                <th scope="col">Datatype</th>
                <th scope="col">Size</th>
                <th scope="col">State</th>
                <th scope="col">Download</th>
              </tr>
            </thead>
            <tbody>
              {datasets.map((d) => (
                <tr key={d.id} data-testid="dataset-row">
                  <td>{d.hid}</td>
                  <td class="break">{d.name}</td>
                  <td>{d.extension}</td>
                  <td>{formatBytes(d.file_size)}</td>
                  <td>
                    <span class={`status status-${d.state ?? "unknown"}`}>{d.state}</span>
                  </td>
                  <td>
                    {d.state === "ok" ? (
                      <a href={`/api/datasets/${d.id}/display?to_ext=${encodeURIComponent(d.extension ?? "data")}`} download={d.name} aria-label={`Download ${d.name}`}>
                        Download
                      </a>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
