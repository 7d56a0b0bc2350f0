import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { formatBytes } from "../../ui/format.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { StateBadge } from "../../ui/state-badge.tsx";
import { Table } from "../../ui/table.tsx";
import { useLoad, useReloadWhile } from "../../ui/use-load.ts";
import { Uploader } from "./uploader.tsx";

const CONTENT_KEYS = "id,hid,name,extension,file_size,state,deleted,visible";
const BUSY_STATES = new Set(["new", "upload", "queued", "running", "setting_metadata"]);
const COLUMNS = ["#", "Name", "Datatype", "Size", "State", "Download"] as const;

/** One history's datasets (name, hid, datatype, size, state), uploads, downloads. */
export function HistoryContentsPage({ historyId }: { historyId: string }) {
  const history = useLoad(() => call(() => sky.api.GET("/api/histories/{id}", { params: { path: { id: historyId } } })), [historyId]);
  const contents = useLoad(() => call(() => sky.api.GET("/api/histories/{id}/contents", { params: { path: { id: historyId }, query: { keys: CONTENT_KEYS } } })), [historyId]);
  const datasets = (contents.data ?? []).filter((d) => !d.deleted);

  // Datasets still being ingested change state on their own: look again shortly.
  const busy = datasets.some((d) => d.state !== undefined && BUSY_STATES.has(d.state));
  useReloadWhile(busy, contents);

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
        <Table caption="Datasets of this history" columns={COLUMNS}>
          {datasets.map((d) => (
            <tr key={d.id} data-testid="dataset-row">
              <td>{d.hid}</td>
              <td class="break">{d.name}</td>
              <td>{d.extension}</td>
              <td>{formatBytes(d.file_size)}</td>
              <td>
                <StateBadge state={d.state} />
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
        </Table>
      ) : null}
    </section>
  );
}
