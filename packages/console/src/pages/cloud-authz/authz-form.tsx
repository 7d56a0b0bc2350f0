import type { CloudAuthzView, IdentitySummary } from "@skyferry/contracts";
import { useState } from "preact/hooks";
import { call, sky } from "../../api/client.ts";
import { ErrorBox } from "../../ui/messages.tsx";
import { useAction } from "../../ui/use-load.ts";
import {
  AZURE_METHOD_LABELS, AZURE_METHODS, type AzureMethod, azureMethodOf, checkField, configFrom, type FieldSpec, fieldsFor, PROVIDER_LABELS, PROVIDERS, type Provider,
} from "./fields.ts";

interface Props {
  /** The record being edited; absent: a new one. */
  editing?: CloudAuthzView;
  identities: IdentitySummary[];
  onSaved: (saved: CloudAuthzView) => void;
  onCancel: () => void;
}

function initialValues(editing?: CloudAuthzView): Record<string, string> {
  const values: Record<string, string> = { force_path_style: "true" };
  for (const [k, v] of Object.entries(editing?.config ?? {})) if (v !== undefined && v !== null) values[k] = String(v);
  return values;
}

/** Create or edit a cloud authorization; each provider has its own fields, checked as you type. */
export function AuthzForm({ editing, identities, onSaved, onCancel }: Props) {
  const [provider, setProvider] = useState<Provider>((editing?.provider as Provider | undefined) ?? "s3");
  const [method, setMethod] = useState<AzureMethod>(editing ? azureMethodOf(editing.config) : "account_key");
  const [values, setValues] = useState<Record<string, string>>(() => initialValues(editing));
  const [description, setDescription] = useState(editing?.description ?? "");
  const [authnId, setAuthnId] = useState(editing?.authn_id ?? identities[0]?.id ?? "");
  const [touched, setTouched] = useState<Record<string, boolean>>({});
  const [submitted, setSubmitted] = useState(false);
  const save = useAction();

  const fields = fieldsFor(provider, method);
  const problems: Record<string, string | undefined> = {};
  for (const f of fields) problems[f.name] = checkField(f, values[f.name] ?? "");
  if (provider === "aws" && !authnId) problems.authn_id = "Pick the identity whose sign-in the role trusts.";
  const invalid = Object.values(problems).some(Boolean);
  const shown = (name: string) => (touched[name] || submitted ? problems[name] : undefined);
  const set = (name: string, value: string) => {
    setValues((v) => ({ ...v, [name]: value }));
    setTouched((t) => ({ ...t, [name]: true }));
  };

  const submit = (e: Event) => {
    e.preventDefault();
    setSubmitted(true);
    if (invalid) {
      const first = fields.find((f) => problems[f.name]);
      document.getElementById(`authz-${first?.name ?? "authn_id"}`)?.focus();
      return;
    }
    const body = {
      provider,
      config: configFrom(fields, values),
      description,
      // Only aws exchanges an identity's token; the others keep whatever they had.
      ...(provider === "aws" ? { authn_id: authnId } : {}),
    };
    void save.run(async () => {
      const saved = editing
        ? await call(() => sky.api.PUT("/api/cloud/authz/{id}", { params: { path: { id: editing.id } }, body }))
        : await call(() => sky.api.POST("/api/cloud/authz", { body }));
      onSaved(saved);
    });
  };

  return (
    <form class="card form" onSubmit={submit} noValidate aria-labelledby="authz-form-title" data-testid="authz-form">
      <h2 id="authz-form-title">{editing ? `Edit authorization ${editing.id}` : "New cloud authorization"}</h2>
      <div class="field">
        <label for="authz-provider">Provider</label>
        <select id="authz-provider" value={provider} disabled={!!editing} onChange={(e) => setProvider(e.currentTarget.value as Provider)}>
          {PROVIDERS.map((p) => (
            <option key={p} value={p}>
              {PROVIDER_LABELS[p]}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="authz-description">Description</label>
        <input id="authz-description" value={description} maxLength={4096} onInput={(e) => setDescription(e.currentTarget.value)} />
      </div>
      {provider === "aws" ? (
        <div class="field">
          <label for="authz-authn_id">Identity</label>
          <select id="authz-authn_id" value={authnId} onChange={(e) => setAuthnId(e.currentTarget.value)} aria-invalid={!!shown("authn_id")} aria-describedby="authz-authn_id-msg">
            <option value="">Choose…</option>
            {identities.map((i) => (
              <option key={i.id} value={i.id}>
                {i.provider}: {i.email}
              </option>
            ))}
          </select>
          <FieldMessage id="authz-authn_id-msg" problem={shown("authn_id")} hint="the role must trust this identity's OpenID Connect provider" />
        </div>
      ) : null}
      {provider === "azure" ? (
        <fieldset class="field">
          <legend>Authenticate with</legend>
          {AZURE_METHODS.map((m) => (
            <label key={m} class="inline">
              <input type="radio" name="azure-method" value={m} checked={method === m} onChange={() => setMethod(m)} /> {AZURE_METHOD_LABELS[m]}
            </label>
          ))}
        </fieldset>
      ) : null}
      {fields.map((f) => (
        <Field key={`${provider}-${f.name}`} spec={f} value={values[f.name] ?? ""} problem={shown(f.name)} onInput={(v) => set(f.name, v)} />
      ))}
      <ErrorBox error={save.error} title="Not saved" />
      <div class="row">
        <button type="submit" class="button-primary" disabled={save.busy}>
          {editing ? "Save changes" : "Create authorization"}
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

function Field({ spec, value, problem, onInput }: { spec: FieldSpec; value: string; problem: string | undefined; onInput: (v: string) => void }) {
  const id = `authz-${spec.name}`;
  if (spec.kind === "bool") {
    return (
      <div class="field">
        <label class="inline" for={id}>
          <input id={id} type="checkbox" checked={value !== "false"} onChange={(e) => onInput(e.currentTarget.checked ? "true" : "false")} /> {spec.label}
        </label>
        <p class="hint">{spec.hint}</p>
      </div>
    );
  }
  const common = {
    id,
    name: spec.name,
    spellcheck: false,
    required: spec.required,
    placeholder: spec.placeholder,
    value,
    "aria-invalid": !!problem,
    "aria-describedby": `${id}-msg`,
    onInput: (e: Event) => onInput((e.currentTarget as HTMLInputElement).value),
  };
  return (
    <div class="field">
      <label for={id}>
        {spec.label}
        {spec.required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {spec.secret ? <input type="password" autoComplete="new-password" {...common} /> : <input type="text" autoComplete="off" inputMode={spec.kind === "int" ? "numeric" : spec.kind === "url" ? "url" : "text"} {...common} />}
      <FieldMessage id={`${id}-msg`} problem={problem} hint={spec.hint} />
    </div>
  );
}

function FieldMessage({ id, problem, hint }: { id: string; problem: string | undefined; hint: string }) {
  return problem ? (
    <p id={id} class="field-error">
      {problem}
    </p>
  ) : (
    <p id={id} class="hint">
      {hint}
    </p>
  );
}
