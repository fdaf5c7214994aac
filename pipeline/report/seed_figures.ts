/**
 * The seed project's own figures, as printed in the seed document
 * /work/shared/seeds/003_b107570d1c98a8eb.txt (face-mask classifier, section 4 "Jetson nano에서의
 * 경량화 효과", measured on a Jetson Nano with its CSI camera) and repeated in design.md
 * ("Seed figures to put beside ours"). They are facts of that document, never ours: the report
 * shows them in their own columns labelled "seed (Jetson Nano)" and never mixes them into our
 * rows, figures or conclusions.
 */

/** One model of the seed's tables; a field the seed does not give is left out. */
export interface SeedFigure {
  /** The seed's name of the model. */
  model: string;
  params?: number;
  /** Size in MB as the seed prints it (float32 weights). */
  size_mb?: number;
  /** Mean inference time over 100 runs, ms. */
  latency_ms?: number;
  fps?: number;
}

/** The seed's experiment a figure belongs to; each had its own teacher measurement. */
export type SeedExperiment = "distillation" | "pruning";

/** Label of the seed columns, per language. */
export const SEED_LABEL = { ko: "시드 (Jetson Nano)", en: "seed (Jetson Nano)" } as const;

/**
 * Seed figures by experiment, keyed by our variant name they correspond to (same architecture:
 * the seed's Small student is our `small_kd`, its 30 % pruned teacher our `teacher_p30`, ...).
 */
export const SEED_FIGURES: Record<SeedExperiment, Record<string, SeedFigure>> = {
  distillation: {
    teacher: { model: "Teacher", params: 93_954, size_mb: 0.36, latency_ms: 72.48 },
    medium_kd: { model: "Medium student", params: 53_186 },
    small_kd: { model: "Small student", params: 6_210, latency_ms: 20.76 },
  },
  pruning: {
    teacher: { model: "Teacher", params: 93_954, size_mb: 0.36, latency_ms: 25.71, fps: 5.1 },
    teacher_p30: { model: "Pruned 30 %", params: 45_195, size_mb: 0.17, latency_ms: 15.77, fps: 5.5 },
    teacher_p50: { model: "Pruned 50 %", params: 23_938, size_mb: 0.09, latency_ms: 12.19, fps: 6.5 },
    teacher_p70: { model: "Pruned 70 %", params: 8_556, size_mb: 0.03, latency_ms: 8.98, fps: 6.8 },
  },
};

/**
 * The seed figure of `variant` in `experiment`; a pruned variant fine-tuned with the teacher
 * (`teacher_p30_kd`) has the same architecture as the seed's pruned model and shares its row.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedFigure } from "./seed_figures.ts";
 * assert(seedFigure("pruning", "teacher_p50_kd")?.params === 23938);
 * assert(seedFigure("distillation", "teacher_p50") === undefined);
 * ```
 */
export function seedFigure(experiment: SeedExperiment, variant: string): SeedFigure | undefined {
  const table = SEED_FIGURES[experiment];
  return table[variant] ?? table[variant.replace(/_kd$/, "")];
}

/**
 * The U-Net seed's own figures, as printed in /work/shared/seeds/000_966bb4b40d9fcecf.txt
 * (section 2 "Kaggle 결과": Kaggle notebook, 128×128×3 input; section 3: Raspberry Pi 4, TensorFlow
 * Lite, 50 test images). Its parameter column reads "204.7647M" and "38.0764M": the digits are
 * 2,047,647 and 380,764 (design.md), printed with a misplaced unit. Facts of that document, never ours.
 */
export interface SegSeedFigure {
  /** The seed's name of the model. */
  model: string;
  params: number;
  /** Size in MB as the seed prints it (float32 weights: 380,764 × 4 B = 1.45 MiB). */
  size_mb: number;
  dice: number;
  /** Training time per step in one epoch, ms. */
  step_ms: number;
  /** Raspberry Pi 4 (TensorFlow Lite, 50 test images): Dice and combined loss BCE + (1 − Dice). */
  device_dice: number;
  device_loss: number;
  /** The runtime the seed names for its Raspberry Pi row. */
  device_runtime: string;
}

/** Label of the U-Net seed's columns, per language. */
export const SEG_SEED_LABEL = { ko: "시드 000", en: "seed 000" } as const;

/** The seed's device, as it names it. */
export const SEG_SEED_DEVICE = "Raspberry Pi 4";

/** Frames per second the seed reports for its depthwise U-Net on the Raspberry Pi 4 ("약 8.5 프레임"). */
export const SEG_SEED_FPS = 8.5;

/** Test images of the seed's Raspberry Pi measurement. */
export const SEG_SEED_DEVICE_IMAGES = 50;

/** The seed's two U-Nets, keyed by our variant of the same architecture. */
export const SEG_SEED_FIGURES: Record<"unet_standard" | "unet_depthwise", SegSeedFigure> = {
  unet_standard: {
    model: "Standard U-Net",
    params: 2_047_647,
    size_mb: 7.81,
    dice: 0.4719,
    step_ms: 19,
    device_dice: 0.4130,
    device_loss: 0.5671,
    device_runtime: "TensorFlow",
  },
  unet_depthwise: {
    model: "Depthwise Convolution U-Net",
    params: 380_764,
    size_mb: 1.45,
    dice: 0.4963,
    step_ms: 26,
    device_dice: 0.4129,
    device_loss: 0.5645,
    device_runtime: "TFLite",
  },
};

/** The model the seed found best per parameter ("파라미터 대비 가장 성능이 좋은 Depthwise Convolution"). */
export const SEG_SEED_BEST_PER_PARAMETER = "unet_depthwise";
