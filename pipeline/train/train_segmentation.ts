/**
 * The train stage on a segmentation data set: each listed U-Net from its seeded initial weights,
 * BCE + (1 − Dice), early stopping on the validation combined loss; per model the best checkpoint,
 * its record, its row (the technique it stands for, params, FLOPs, Dice, IoU, …) and the predicted
 * masks of the first test images.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic_write.ts";
import type { StageContext, StageResult } from "../core/types.ts";
import type { Dataset } from "../data/dataset.ts";
import { buildModel, inputSideOf, type ModelEntry } from "../models/mod.ts";
import type { SegTrainPart, TrainParams } from "../stages/train.ts";
import { searchUNetParams } from "../models/unet_param_search.ts";
import { SEG_SEED_FIGURES } from "../report/seed_figures.ts";
import { fitSegmenter } from "./fit_segmentation.ts";
import { loopOptions } from "./loop.ts";
import { keepSegVariant } from "./seg_variant.ts";
import { inLanes, laneCount } from "./lanes.ts";
import { account } from "../models/accounting.ts";

/** Train every entry (U-Nets, checked by the caller) on `data`; writes the part and returns the summary. */
export async function trainSegmentation(
  ctx: StageContext<TrainParams>,
  data: Dataset,
  entries: ModelEntry[],
): Promise<StageResult> {
  const p = ctx.params;
  const part: SegTrainPart = {
    task: "segmentation",
    models: {},
    rows: [],
    predictions: {},
    param_search: searchUNetParams(SEG_SEED_FIGURES.unet_standard.params),
  };
  // Every model built first: a side that does not fit is refused before any training, and the
  // FLOPs that order the lanes come from the models that train.
  const jobs = entries.map((entry) => ({ entry, model: buildModel(entry, data.size, 1, ctx.seed) }));
  const trained = await inLanes(jobs, laneCount(p), async ({ entry, model }) => {
    const { name } = entry;
    const fit = await fitSegmenter(ctx, name, model, data, {
      ...loopOptions(p, p.epochs),
      // Epoch checkpoints outlive a killed run: the rerun resumes bit-identically.
      checkpointDir: ctx.resumeDir && join(ctx.resumeDir, "fit", name),
    });
    const side = inputSideOf(entry, data.size);
    const kept = await keepSegVariant(ctx.outDir, name, model, data, fit, {
      technique: entry.technique,
      spec: { ...entry.spec, input: [side, side, 3] },
      samples: p.sample_predictions,
    });
    ctx.log.info(
      `${name} (${entry.technique}): test dice ${
        (fit.test.dice * 100).toFixed(2)
      } % (best epoch ${fit.bestEpoch}, ${fit.seconds.toFixed(0)} s)`,
    );
    return kept;
  }, { cost: ({ model }) => account(model).flops }).finally(() =>
    jobs.forEach(({ model }) => model.dispose())
  );
  entries.forEach(({ name }, i) => {
    part.models[name] = trained[i].record;
    part.rows.push(trained[i].row);
    part.predictions[name] = trained[i].predictions;
  });
  await writeFileAtomic(join(ctx.outDir, "results.part.json"), JSON.stringify(part, null, 1));
  return {
    summary: Object.fromEntries(
      Object.entries(part.models).map(([name, m]) => [name, {
        test_dice: Number(m.test.dice.toFixed(4)),
        best_epoch: m.best_epoch,
        epochs_run: m.history.length,
        seconds: Math.round(m.train_seconds),
      }]),
    ),
  };
}
