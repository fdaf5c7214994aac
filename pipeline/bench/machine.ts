/** What the local benchmark ran on, for results.json. */

export interface MachineInfo {
  cpu: string;
  cores: number;
  ram_bytes: number;
  os: string;
  deno: string;
}

/**
 * CPU model (from /proc/cpuinfo), logical cores, RAM and OS of this machine.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineInfo } from "./machine.ts";
 * assert((await machineInfo()).cores >= 1);
 * ```
 */
export async function machineInfo(): Promise<MachineInfo> {
  const read = async (path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch {
      return "";
    }
  };
  const cpuinfo = await read("/proc/cpuinfo");
  const cpu = cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown";
  const release = (await read("/etc/os-release")).match(/^PRETTY_NAME="?([^"\n]+)"?$/m)?.[1];
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    ram_bytes: Deno.systemMemoryInfo().total,
    os: `${release ?? Deno.build.os} (${Deno.build.os} ${Deno.osRelease()}, ${Deno.build.arch})`,
    deno: Deno.version.deno,
  };
}
