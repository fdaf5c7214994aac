/**
 * A throw-away sshd on 127.0.0.1 for the SSH tests (the "board" is this machine): its own host
 * and user keys, and client configs (alias `dev`) made by `client()`.
 */
import { join } from "node:path";

const SSHD = "/usr/sbin/sshd";

/** Run a command; its stdout, trimmed (throws with stderr on failure). */
export async function sh(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stderr: "piped" }).output();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** sshd on 127.0.0.1 with its own keys and config; client configs written by `client()`; `pid` is the listener's. */
export async function startSshd(dir: string) {
  for (const k of ["host_key", "user_key", "other_key"]) {
    await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, k)]);
  }
  await Deno.copyFile(join(dir, "user_key.pub"), join(dir, "authorized_keys"));
  const port = freePort();
  await Deno.writeTextFile(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${dir}/host_key`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "",
    ].join("\n"),
  );
  if (Deno.uid() === 0) await Deno.mkdir("/run/sshd", { recursive: true }); // sshd's privsep dir
  const proc = new Deno.Command(SSHD, {
    args: ["-D", "-f", join(dir, "sshd_config"), "-E", join(dir, "sshd.log")],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0;; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      if (i > 50) {
        throw new Error(
          `sshd did not start: ${await Deno.readTextFile(join(dir, "sshd.log")).catch(() => "")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const hostKey = (await Deno.readTextFile(join(dir, "host_key.pub"))).split(" ").slice(0, 2).join(" ");
  await Deno.writeTextFile(join(dir, "known_hosts"), `[127.0.0.1]:${port} ${hostKey}\n`);
  await Deno.writeTextFile(join(dir, "empty_known_hosts"), "");
  const user = await sh("id", ["-un"]);
  /** A client config (alias `dev`) with the given key / known_hosts / port. */
  const client = async (name: string, o: { key?: string; knownHosts?: string; port?: number } = {}) => {
    const path = join(dir, `ssh_config_${name}`);
    await Deno.writeTextFile(
      path,
      [
        "Host dev",
        "  HostName 127.0.0.1",
        `  Port ${o.port ?? port}`,
        `  User ${user}`,
        `  IdentityFile ${dir}/${o.key ?? "user_key"}`,
        "  IdentitiesOnly yes",
        "  IdentityAgent none",
        `  UserKnownHostsFile ${dir}/${o.knownHosts ?? "known_hosts"}`,
        "  GlobalKnownHostsFile /dev/null",
        "",
      ].join("\n"),
    );
    return path;
  };
  return {
    pid: proc.pid,
    client,
    async stop() {
      proc.kill("SIGTERM");
      await proc.status;
      await proc.stderr.cancel();
    },
  };
}
