import type { ComponentChildren } from "preact";
import { messageOf } from "../api/client.ts";

/** An API error in its own words (`err_msg`); announced to screen readers. */
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <div class="alert alert-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {messageOf(error)}
    </div>
  );
}

/** A polite status line (saved, copied, ...). */
export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <div class="alert alert-ok" role="status">
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}
