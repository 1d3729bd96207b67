// Hash routes, so every page has a URL while the server serves one document:
// #/accounts, #/accounts/<id>, #/commands, #/cluster, #/dead-letters, #/metrics,
// each with optional query parameters after '?', e.g. #/accounts?q=4f&limit=100.

export type Page = "accounts" | "account" | "commands" | "cluster" | "dead-letters" | "metrics" | "not-found";

export interface Route {
  page: Page;
  id: string; // the account id for "account"
  params: URLSearchParams;
  path: string; // the hash without '#', e.g. "/accounts"
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "") || "/accounts";
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  const route = (page: Page, id = ""): Route => ({ page, id, params, path });
  if (parts.length === 0) return route("accounts");
  switch (parts[0]) {
    case "accounts":
      if (parts.length === 1) return route("accounts");
      if (parts.length === 2) return route("account", parts[1]);
      break;
    case "commands":
    case "cluster":
    case "dead-letters":
    case "metrics":
      if (parts.length === 1) return route(parts[0]);
      break;
  }
  return route("not-found");
}

export function href(path: string, params?: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== null && v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ""}`;
}

export const accountHref = (id: string) => `#/accounts/${encodeURIComponent(id)}`;

/** Changes the URL; `replace` keeps the history short while typing into a search box. */
export function go(path: string, params?: Record<string, string | number | null | undefined>, replace = false): void {
  const target = href(path, params);
  if (replace) history.replaceState(history.state, "", target), window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = target;
}
