/**
 * The form fields of each cloud provider, with the checks the authz service makes
 * (services/authz/src/cloud-authz/providers), so a person sees a mistake while typing; the
 * service still checks everything and its `err_msg` is shown when it refuses.
 */
export const PROVIDERS = ["s3", "aws", "azure"] as const;
export type Provider = (typeof PROVIDERS)[number];

export const PROVIDER_LABELS: Record<Provider, string> = {
  s3: "S3-compatible (access keys)",
  aws: "Amazon S3 (role, signed in with your identity)",
  azure: "Azure Blob Storage",
};

export interface FieldSpec {
  name: string;
  label: string;
  hint: string;
  required?: boolean;
  secret?: boolean;
  kind?: "text" | "int" | "bool" | "url";
  pattern?: RegExp;
  min?: number;
  max?: number;
  placeholder?: string;
}

const URL_RE = /^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/;

export const S3_FIELDS: FieldSpec[] = [
  { name: "endpoint", label: "Endpoint", hint: "an http(s) URL, e.g. https://s3.example.org", required: true, kind: "url", pattern: URL_RE, placeholder: "https://s3.example.org" },
  { name: "access_key_id", label: "Access key id", hint: "the access key id", required: true, pattern: /^.{1,256}$/ },
  { name: "secret_access_key", label: "Secret access key", hint: "the secret; it is stored encrypted and never shown again", required: true, secret: true, pattern: /^.{1,1024}$/ },
  { name: "region", label: "Region", hint: "letters, digits, '-' and '_' (default us-east-1)", pattern: /^[A-Za-z0-9_-]{1,64}$/, placeholder: "us-east-1" },
  { name: "force_path_style", label: "Path-style URLs (Ceph, MinIO)", hint: "bucket in the path rather than the host name", kind: "bool" },
];

export const AWS_FIELDS: FieldSpec[] = [
  {
    name: "role_arn",
    label: "Role ARN",
    hint: "like arn:aws:iam::123456789012:role/name (arn:aws:iam:::role/name for Ceph)",
    required: true,
    pattern: /^arn:aws(-cn|-us-gov)?:iam::([0-9]{12})?:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/,
    placeholder: "arn:aws:iam::123456789012:role/skyferry",
  },
  { name: "region", label: "Region", hint: "an AWS region such as us-east-1 (default)", pattern: /^[a-z0-9-]{1,32}$/, placeholder: "us-east-1" },
  { name: "token_ttl", label: "Credential lifetime (seconds)", hint: "900 to 43200 (default 3600)", kind: "int", min: 900, max: 43200, placeholder: "3600" },
  { name: "role_session_name", label: "Role session name", hint: "2-64 characters from letters, digits and +=,.@_-", pattern: /^[A-Za-z0-9+=,.@_-]{2,64}$/ },
];

export const AZURE_METHODS = ["account_key", "sas", "service_principal"] as const;
export type AzureMethod = (typeof AZURE_METHODS)[number];
export const AZURE_METHOD_LABELS: Record<AzureMethod, string> = {
  account_key: "Account key",
  sas: "Shared access signature (SAS)",
  service_principal: "Service principal (tenant, client id, secret)",
};

export const AZURE_COMMON: FieldSpec[] = [
  { name: "storage_account", label: "Storage account", hint: "3-24 lowercase letters and digits", required: true, pattern: /^[a-z0-9]{3,24}$/ },
  { name: "endpoint", label: "Blob endpoint", hint: "optional; default https://<account>.blob.core.windows.net", kind: "url", pattern: /^https?:\/\/[^\s?#]+$/ },
];

export const AZURE_BY_METHOD: Record<AzureMethod, FieldSpec[]> = {
  account_key: [{ name: "account_key", label: "Account key", hint: "the account key (base64)", required: true, secret: true, pattern: /^[A-Za-z0-9+/=]{16,256}$/ }],
  sas: [{ name: "sas", label: "SAS", hint: "a SAS query string containing sig=", required: true, secret: true, pattern: /^\??[^\s?#]*sig=[^\s?#]+$/ }],
  service_principal: [
    { name: "tenant_id", label: "Tenant id", hint: "a tenant id (GUID) or domain", required: true, pattern: /^[A-Za-z0-9.-]{1,256}$/ },
    { name: "client_id", label: "Client (application) id", hint: "an application (client) id", required: true, pattern: /^[A-Za-z0-9-]{1,64}$/ },
    { name: "client_secret", label: "Client secret", hint: "the client secret", required: true, secret: true, pattern: /^.{1,1024}$/ },
    { name: "authority_host", label: "Authority host", hint: "optional, an https URL, e.g. https://login.microsoftonline.us", pattern: /^https:\/\/[^\s?#]+$/ },
  ],
};

/** A secret as the API shows it: the stored value is kept when this is sent back unchanged. */
export const isMasked = (v: string) => v.startsWith("****");

/** The problem with `value`, in words, or undefined. */
export function checkField(spec: FieldSpec, value: string): string | undefined {
  if (spec.kind === "bool") return undefined;
  const v = value.trim();
  if (!v) return spec.required ? `${spec.label} is required.` : undefined;
  if (spec.secret && isMasked(v)) return undefined;
  if (spec.kind === "int") {
    if (!/^\d+$/.test(v)) return `${spec.label} must be a whole number.`;
    const n = Number(v);
    if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) return `${spec.label} must be ${spec.hint}.`;
    return undefined;
  }
  if (spec.pattern && !spec.pattern.test(v)) return `${spec.label} must be ${spec.hint}.`;
  return undefined;
}

export function azureMethodOf(config: Record<string, unknown>): AzureMethod {
  if (config.sas !== undefined) return "sas";
  if (config.client_secret !== undefined || config.tenant_id !== undefined) return "service_principal";
  return "account_key";
}

export function fieldsFor(provider: Provider, method: AzureMethod): FieldSpec[] {
  if (provider === "s3") return S3_FIELDS;
  if (provider === "aws") return AWS_FIELDS;
  return [...AZURE_COMMON, ...AZURE_BY_METHOD[method]];
}

/** The `config` object the API expects, from the form's text values. */
export function configFrom(fields: FieldSpec[], values: Record<string, string>): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const f of fields) {
    const raw = (values[f.name] ?? "").trim();
    if (f.kind === "bool") {
      config[f.name] = raw !== "false";
      continue;
    }
    if (!raw) continue;
    config[f.name] = f.kind === "int" ? Number(raw) : raw;
  }
  return config;
}
