/**
 * The `kaggle` source: download a dataset zip from the Kaggle API with basic auth.
 * Credentials come from KAGGLE_USERNAME/KAGGLE_KEY or ~/.kaggle/kaggle.json and are never
 * printed, logged, written or put in an error message.
 */
import { join } from "node:path";
import { ExpectedError, isExpected } from "../../core/errors.ts";
import { downloadFile, type FetchFn } from "./zip.ts";

/** Kaggle API credentials. */
export interface KaggleCredentials {
  username: string;
  key: string;
}

/** Where to look for credentials; injectable for tests. */
export interface CredentialSource {
  env?: (name: string) => string | undefined;
  home?: string;
}

/** Load credentials from the environment, else `$KAGGLE_CONFIG_DIR` or `~/.kaggle/kaggle.json`. */
export async function loadKaggleCredentials(src: CredentialSource = {}): Promise<KaggleCredentials> {
  const env = src.env ?? ((n: string) => Deno.env.get(n));
  const username = env("KAGGLE_USERNAME"), key = env("KAGGLE_KEY");
  if (username && key) return { username, key };
  const home = src.home ?? env("HOME") ?? ".";
  const file = join(env("KAGGLE_CONFIG_DIR") ?? join(home, ".kaggle"), "kaggle.json");
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    throw new ExpectedError(`No Kaggle credentials: set KAGGLE_USERNAME and KAGGLE_KEY, or create "${file}"`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null; // the parser's message may quote the file's contents
  }
  const p = parsed as Partial<KaggleCredentials> | null;
  if (typeof p?.username !== "string" || typeof p?.key !== "string" || !p.username || !p.key) {
    throw new ExpectedError(
      `Cannot read Kaggle credentials "${file}": expected JSON with "username" and "key"`,
    );
  }
  return { username: p.username, key: p.key };
}

/** The download URL and headers for `owner/name`. */
export function kaggleRequest(
  dataset: string,
  creds: KaggleCredentials,
): { url: string; headers: Record<string, string> } {
  if (!/^[\w.-]+\/[\w.-]+$/.test(dataset)) {
    throw new ExpectedError(`Kaggle dataset "${dataset}" is not "owner/name"`);
  }
  return {
    url: `https://www.kaggle.com/api/v1/datasets/download/${dataset}`,
    headers: { Authorization: `Basic ${btoa(`${creds.username}:${creds.key}`)}` },
  };
}

/** Replace every occurrence of the credentials (and their basic-auth token) with "***". */
export function redact(text: string, creds: KaggleCredentials): string {
  const secrets = [btoa(`${creds.username}:${creds.key}`), creds.key, creds.username].filter((s) =>
    s.length >= 3
  );
  for (const s of secrets) text = text.split(s).join("***");
  return text;
}

/** Options of {@link downloadKaggle}. */
export interface KaggleOptions extends CredentialSource {
  cacheDir: string;
  fetch?: FetchFn;
  sha256?: string;
}

/**
 * Download `owner/name` to cacheDir/kaggle/owner__name.zip (reused when present, without
 * asking for credentials) and return the zip path. Errors are redacted of any credential.
 */
export async function downloadKaggle(dataset: string, opts: KaggleOptions): Promise<string> {
  kaggleRequest(dataset, { username: "", key: "" }); // validate the name before anything else
  const dest = join(opts.cacheDir, "kaggle", `${dataset.replace("/", "__")}.zip`);
  if (await Deno.stat(dest).then(() => true, () => false)) return dest;
  const creds = await loadKaggleCredentials(opts);
  const { url, headers } = kaggleRequest(dataset, creds);
  try {
    await downloadFile(url, dest, {
      fetch: opts.fetch,
      headers,
      sha256: opts.sha256,
      label: `kaggle:${dataset}`,
    });
  } catch (e) {
    const message = redact(e instanceof Error ? e.message : String(e), creds);
    throw isExpected(e) ? new ExpectedError(message) : new Error(message); // a bug keeps the "not expected" mark
  }
  return dest;
}
