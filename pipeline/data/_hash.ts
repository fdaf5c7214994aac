/** SHA-256 helpers over bytes and files. */

/** Lower-case hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Lower-case hex SHA-256 of a file's contents. */
export async function fileSha256(path: string): Promise<string> {
  return sha256Hex(await Deno.readFile(path));
}
