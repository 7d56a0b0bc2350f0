/** A state (of a dataset, a job, …) as a badge; `styles.css` colours it by `status-<state>`. */
export function StateBadge({ state }: { state: string | undefined }) {
  return <span class={`status status-${state ?? "unknown"}`}>{state}</span>;
}
