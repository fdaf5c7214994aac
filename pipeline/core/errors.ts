/**
 * Expected failures: bad input, a refused archive entry, an unreachable device. Their message
 * says what failed and what to do (file, field, device, value); the runner prints the message
 * alone, and the stack only with `--verbose` (or EDGESLIM_VERBOSE=1). Any other Error is a bug
 * and keeps its stack.
 */
export class ExpectedError extends Error {
  override name = "ExpectedError";
}

/**
 * Whether `e` is an expected failure (an ExpectedError, or an error whose `expected` is true).
 *
 * @example
 * ```ts
 * import { ExpectedError, isExpected } from "./errors.ts";
 * if (!isExpected(new ExpectedError("zip entry \"a\" is too big")) || isExpected(new TypeError("x"))) {
 *   throw new Error("isExpected");
 * }
 * ```
 */
export function isExpected(e: unknown): boolean {
  return e instanceof ExpectedError ||
    (e instanceof Error && (e as { expected?: boolean }).expected === true);
}
