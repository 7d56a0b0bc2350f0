// Who signs in at the local provider: the sign-in page, the check of what a person typed, and the
// claims each token then carries (oauth2-mock-server's hooks signs whatever the mapping says).
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// An address as the HTML form's type=email accepts it, without spaces or markup.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const CODE_TTL_MS = 10 * 60_000;

/** The claims of the person who typed `username` (and maybe `email`) on the sign-in page. */
function claimsOf(params) {
  const username = params.get("username").trim();
  const email = (params.get("email") ?? "").trim() || `${username.toLowerCase()}@example.org`;
  return { sub: username, email, email_verified: true, name: username, preferred_username: username };
}

/**
 * Tracks which person each authorization code, refresh token and subject stands for, on the
 * service's hooks, and puts their claims into every token and userinfo answer.
 */
export function createLocalUsers(service) {
  const byCode = new Map();
  const byRefresh = new Map();
  const bySub = new Map();
  const remember = (map, key, claims) => {
    map.set(key, claims);
    setTimeout(() => map.delete(key), CODE_TTL_MS).unref();
  };
  const fromTokenRequest = (req) => {
    const body = req.body ?? {};
    if (body.grant_type === "authorization_code") return byCode.get(String(body.code));
    if (body.grant_type === "refresh_token") return byRefresh.get(String(body.refresh_token));
    return undefined;
  };

  service.on("beforeAuthorizeRedirect", ({ url }, req) => {
    const code = url.searchParams.get("code");
    if (!code) return;
    const claims = claimsOf(new URL(req.url ?? "/", "http://local").searchParams);
    remember(byCode, code, claims);
    bySub.set(claims.sub, claims);
  });
  service.on("beforeTokenSigning", (token, req) => {
    const claims = fromTokenRequest(req);
    if (claims) Object.assign(token.payload, claims);
  });
  service.on("beforeResponse", (res, req) => {
    const claims = fromTokenRequest(req);
    if (!claims || typeof res.body !== "object") return;
    if (req.body?.grant_type === "authorization_code") byCode.delete(String(req.body.code));
    // A refresh token stays good as long as its person is known here (until the provider restarts).
    if (res.body.refresh_token) byRefresh.set(res.body.refresh_token, claims);
  });
  service.on("beforeUserinfo", (res, req) => {
    const claims = bySub.get(subjectOfBearer(req.headers.authorization));
    if (claims) res.body = { ...claims };
    else {
      res.statusCode = 401;
      res.body = { error: "invalid_token" };
    }
  });

  return {
    /** Why the sign-in form's answer cannot be taken ("" when nothing was typed yet), or null. */
    problemWith(params) {
      const username = params.get("username");
      if (username === null) return "";
      if (!USER_NAME.test(username.trim())) return "A user name is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.";
      const email = (params.get("email") ?? "").trim();
      if (email !== "" && (email.length > 254 || !EMAIL.test(email))) return "That email address does not look right.";
      return null;
    },
  };
}

function subjectOfBearer(header) {
  const token = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
  try {
    return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8")).sub;
  } catch {
    return undefined;
  }
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Answers the sign-in page; the client's authorization parameters ride along as hidden fields. */
export function signInPage(res, params, problem, { info = false } = {}) {
  const hidden = [...params]
    .filter(([k]) => k !== "username" && k !== "email")
    .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`)
    .join("\n      ");
  const body = info
    ? `<p>This is the local sign-in provider of skyferry's development stack. Sign in from skyferry's console: it brings you here.</p>`
    : `<form method="get" action="authorize">
      ${hidden}
      <label for="username">User name</label>
      <input id="username" name="username" required autofocus autocomplete="username" maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}" value="${escape(params.get("username") ?? "")}">
      <label for="email">Email (optional)</label>
      <input id="email" name="email" type="email" autocomplete="email" maxlength="254" placeholder="name@example.org" value="${escape(params.get("email") ?? "")}">
      ${problem ? `<p role="alert" class="problem">${escape(problem)}</p>` : ""}
      <button type="submit">Sign in</button>
    </form>
    <p class="hint">Any user name works: the same name is the same user. Type another name to sign in as a second user. Without an email, <code>&lt;user name&gt;@example.org</code> is used.</p>`;
  res.statusCode = problem ? 400 : 200;
  res.setHeader("content-type", "text/html; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.setHeader("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
  res.setHeader("x-content-type-options", "nosniff");
  res.end(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in — local provider</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 4rem auto; padding: 0 1rem; color: #1b1f24; }
    h1 { font-size: 1.4rem; margin-bottom: .25rem; }
    .sub { color: #57606a; margin-top: 0; }
    form { display: grid; gap: .4rem; margin-top: 1.5rem; }
    input { font: inherit; padding: .45rem .6rem; border: 1px solid #8c959f; border-radius: 6px; }
    label { font-weight: 600; margin-top: .5rem; }
    button { font: inherit; margin-top: 1rem; padding: .55rem; border: 0; border-radius: 6px; background: #0969da; color: #fff; cursor: pointer; }
    .problem { color: #cf222e; margin: .5rem 0 0; }
    .hint { color: #57606a; font-size: .9rem; margin-top: 1.5rem; }
  </style>
</head>
<body>
  <main>
    <h1>Sign in</h1>
    <p class="sub">Local provider (development only)</p>
    ${body}
  </main>
</body>
</html>
`);
}
