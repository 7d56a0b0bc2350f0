import type { HistoryObject } from "@skyferry/contracts";
import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { href } from "../../route.ts";
import { formatBytes, formatTime } from "../../ui/format.ts";
import { ErrorBox, Loading } from "../../ui/messages.tsx";
import { Table } from "../../ui/table.tsx";
import { useAction, useLoad } from "../../ui/use-load.ts";

const KEYS = "id,name,count,size,update_time,deleted";
const COLUMNS = ["Name", "Items", "Size", "Updated", "Actions"] as const;

/** The caller's histories: list, create, rename, delete. */
export function HistoriesPage() {
  const list = useLoad(() => call(() => sky.api.GET("/api/histories", { params: { query: { keys: KEYS } } })));
  const [name, setName] = useState("");
  const [renaming, setRenaming] = useState<string | undefined>(undefined);
  const action = useAction();

  const create = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const h = await call(() => sky.api.POST("/api/histories", { body: name.trim() ? { name: name.trim() } : {} }));
      setName("");
      location.hash = href("histories", h.id!);
    });
  };
  const remove = (h: HistoryObject) =>
    action.run(async () => {
      if (!confirm(`Delete the history "${h.name}"?`)) return;
      await call(() => sky.api.DELETE("/api/histories/{id}", { params: { path: { id: h.id! } } }));
      list.reload();
    });

  return (
    <section aria-labelledby="histories-title">
      <h1 id="histories-title">Histories</h1>
      <form class="row" onSubmit={create}>
        <label for="new-history-name">New history</label>
        <input id="new-history-name" class="grow" placeholder="Unnamed history" maxLength={255} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <button type="submit" class="button-primary" disabled={action.busy}>
          Create history
        </button>
      </form>
      <ErrorBox error={action.error} />
      {list.loading && !list.data ? <Loading what="histories" /> : null}
      <ErrorBox error={list.error} title="Could not list your histories" />
      {list.data && list.data.length === 0 ? <p class="muted">You have no histories yet: create one above, then upload files into it.</p> : null}
      {list.data && list.data.length > 0 ? (
        <Table caption="Your histories" columns={COLUMNS}>
          {list.data.map((h) => (
            <tr key={h.id} data-testid="history-row">
              <td>
                {renaming === h.id ? (
                  <RenameForm history={h} onDone={() => { setRenaming(undefined); list.reload(); }} />
                ) : (
                  <a href={href("histories", h.id!)}>{h.name}</a>
                )}
              </td>
              <td>{h.count ?? "—"}</td>
              <td>{formatBytes(h.size)}</td>
              <td>{formatTime(h.update_time)}</td>
              <td class="actions">
                <button type="button" onClick={() => setRenaming(h.id)} aria-label={`Rename ${h.name}`}>
                  Rename
                </button>
                <a class="button" href={`${href("send")}?history=${h.id}`}>
                  Send…
                </a>
                <button type="button" class="button-danger" onClick={() => void remove(h)} aria-label={`Delete ${h.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </section>
  );
}

function RenameForm({ history, onDone }: { history: HistoryObject; onDone: () => void }) {
  const [name, setName] = useState(history.name ?? "");
  const save = useAction();
  const id = `rename-${history.id}`;
  const submit = (e: Event) => {
    e.preventDefault();
    void save.run(async () => {
      await call(() => sky.api.PUT("/api/histories/{id}", { params: { path: { id: history.id! } }, body: { name: name.trim() } }));
      onDone();
    });
  };
  return (
    <form class="row" onSubmit={submit}>
      <label for={id} class="sr-only">
        New name
      </label>
      <input id={id} value={name} required maxLength={255} onInput={(e) => setName(e.currentTarget.value)} ref={(el) => el?.focus()} />
      <button type="submit" disabled={save.busy || !name.trim()}>
        Save
      </button>
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      <ErrorBox error={save.error} />
    </form>
  );
}
