// Credentials written into a URL (`http://user:secret@host/v1`, `…/v1?api_key=…`) end up in
// logs, error messages, cache identities and saved metadata. Config refuses them; this says
// whether a URL carries any, and masks them where a value must be shown.
import { isCredentialName as isCredentialParam } from "./redact-secrets.js";

export type UrlCredential = "userinfo" | "query";

/** What kind of credential `url` carries, if any (undefined for an unparseable URL). */
export function urlCredential(url: string): UrlCredential | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.username !== "" || parsed.password !== "") return "userinfo";
  for (const name of parsed.searchParams.keys()) if (isCredentialParam(name)) return "query";
  return undefined;
}

/**
 * `text` with anything that looks like URL credentials masked: the user info before an `@`
 * (with or without a scheme) and the values of credential-named query parameters.
 */
export function maskUrlCredentials(text: string): string {
  return text
    .replace(
      /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^\s/?#@]+@/,
      (_match, scheme: string | undefined) => `${scheme ?? ""}***@`,
    )
    .replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (match, sep: string, name: string) =>
      isCredentialParam(name) ? `${sep}${name}=***` : match,
    );
}
