/** The table of losses the engine trains with, by name (a task picks one). */
import { bceDice } from "./bce_dice.ts";
import { softmaxCrossEntropy } from "./softmax_cross_entropy.ts";

import type { LossKind } from "./_types.ts";
export type { LossInput, LossKind, LossOutput } from "./_types.ts";

export const LOSSES = { softmax_cross_entropy: softmaxCrossEntropy, bce_dice: bceDice } satisfies Record<
  string,
  LossKind
>;
export type LossName = keyof typeof LOSSES;
