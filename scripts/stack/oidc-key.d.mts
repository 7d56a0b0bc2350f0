/** The local provider's signing key: an RS256 private JWK whose `x5c` holds a self-signed certificate (oidc-key.mjs). */
export function keyWithCertificate(): Record<string, unknown> & { kid: string; x5c: [string] };
