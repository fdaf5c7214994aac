/**
 * The stage graph: topological order and dependency cycles.
 */

/** Stage name → names of the stages it depends on. */
export type StageGraph = Record<string, string[]>;

/**
 * Every distinct dependency cycle, each as a closed path ("fetch → train → fetch").
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { findCycles } from "./graph.ts";
 * assert(findCycles({ fetch: ["train"], train: ["fetch"] })[0] === "fetch → train → fetch");
 * ```
 */
export function findCycles(graph: StageGraph): string[] {
  const cycles = new Map<string, string>();
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    if (done.has(name)) return;
    const at = stack.indexOf(name);
    if (at >= 0) {
      const loop = stack.slice(at);
      // Rotate so the same cycle found from another node is reported once.
      const key = [...loop].sort().join(",");
      if (!cycles.has(key)) cycles.set(key, [...loop, name].join(" → "));
      return;
    }
    stack.push(name);
    for (const dep of graph[name] ?? []) if (dep in graph) visit(dep);
    stack.pop();
    done.add(name);
  };
  for (const name of Object.keys(graph)) visit(name);
  return [...cycles.values()];
}

/**
 * Stage names ordered so each comes after its deps; ties keep the file's order.
 * Throws on a cycle (validate with `findCycles` first).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topoOrder } from "./graph.ts";
 * assert(topoOrder({ report: ["train"], fetch: [], train: ["fetch"] }).join() === "fetch,train,report");
 * ```
 */
export function topoOrder(graph: StageGraph): string[] {
  const order: string[] = [];
  const placed = new Set<string>();
  const names = Object.keys(graph);
  while (order.length < names.length) {
    const next = names.find((n) => !placed.has(n) && graph[n].every((d) => placed.has(d) || !(d in graph)));
    if (next === undefined) throw new Error(`dependency cycle: ${findCycles(graph).join("; ")}`);
    order.push(next);
    placed.add(next);
  }
  return order;
}

/** `name` and every stage it depends on, directly or not. */
export function upstreamOf(graph: StageGraph, name: string): Set<string> {
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of graph[n] ?? []) visit(d);
  };
  visit(name);
  return seen;
}
