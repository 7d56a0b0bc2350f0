import type { CloudAuthzView } from "@skyferry/contracts";
import { call, sky } from "../api/client.ts";
import { href } from "../route.ts";
import { ErrorBox } from "./messages.tsx";
import { type Loaded, useLoad } from "./use-load.ts";

/** The caller's cloud authorizations, for a page that uses one (send, get). */
export function useAuthzs(): Loaded<CloudAuthzView[]> {
  return useLoad(() => call(() => sky.api.GET("/api/cloud/authz")));
}

/** Why no authorization can be picked: the list failed, or there is none yet (with a link to create one). */
export function AuthzProblems({ authzs }: { authzs: Loaded<CloudAuthzView[]> }) {
  return (
    <>
      <ErrorBox error={authzs.error} title="Could not list your authorizations" />
      {authzs.data && authzs.data.length === 0 ? (
        <p class="alert alert-error" role="alert">
          You need a cloud authorization first: <a href={href("authz")}>create one</a>.
        </p>
      ) : null}
    </>
  );
}

/** The "Authorization" field: one option per authorization (provider and description); `value` is an id. */
export function AuthzField({ id, grow = false, authzs, value, onChange }: { id: string; grow?: boolean; authzs: CloudAuthzView[] | undefined; value: string; onChange: (authzId: string) => void }) {
  return (
    <div class={grow ? "field grow" : "field"}>
      <label for={id}>Authorization</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {(authzs ?? []).map((a) => (
          <option key={a.id} value={a.id}>
            {a.provider}: {a.description || a.id}
          </option>
        ))}
      </select>
    </div>
  );
}
