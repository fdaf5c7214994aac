/**
 * Params of the fetch stage, for both tasks: checked with zod up front (unknown keys rejected,
 * every error naming its field, e.g. `params.mask_values.foreground`), then the defaults that
 * depend on the task and the layout filled in. stages/fetch.ts exports them as its `paramsSchema`.
 */
import { isAbsolute } from "node:path";
import { z } from "zod";
import type { SegmentationParams } from "./fetch_segmentation.ts";
import { DEFAULT_ZIP_LIMITS } from "./sources/zip.ts";

const sha256Field = z.string().regex(/^[0-9a-fA-F]{64}$/, "expected 64 hex digits");

/** A folder inside the data set: relative, no "..". */
const folderField = z.string().min(1).refine(
  (f) => !isAbsolute(f) && !f.split(/[\\/]/).includes(".."),
  'expected a folder inside the data set (relative, without "..")',
);

/** Classes when none are given, by task. */
const DEFAULT_CLASSES = {
  classification: ["with_mask", "without_mask"],
  segmentation: ["background", "foreground"],
};

/** Segmentation layouts: where images and masks are, and what mask values mean (background, target). */
const LAYOUTS = {
  /** images/x.jpg + masks/x.png; a binary mask saved as 0/1 or 0/255. */
  pairs: { images_dir: "images", masks_dir: "masks", values: [[0], [1, 255]] },
  /** Oxford-IIIT Pet: trimaps of 1 pet, 2 background, 3 border; the border belongs to the pet. */
  oxford_pet: { images_dir: "images", masks_dir: "annotations/trimaps", values: [[2], [1, 3]] },
} as const;

/** Fields of the fetch stage's params (unknown keys are rejected). */
const fields = z.strictObject({
  /** Where images come from; synthetic needs no network. */
  source: z.enum(["synthetic", "dir", "zip", "kaggle"]).default("synthetic"),
  /** What the data set is for: a label per image, or a mask per image. */
  task: z.enum(["classification", "segmentation"]).default("classification"),
  /**
   * Class names, in label order: class folders (classification; default with_mask, without_mask), or
   * mask indices, background first (segmentation; default background, foreground).
   */
  classes: z.array(z.string().min(1)).min(2)
    .refine((c) => new Set(c).size === c.length, "classes must be unique").optional(),
  /** Side of the square images after resize (the seed uses 128). */
  size: z.int().min(8).max(1024).default(128),
  /** Classification, synthetic only: images per class (1638 × 2 ≈ the Kaggle set's 3,276). @default 1638 */
  count_per_class: z.int().min(1).optional(),
  /** Segmentation, synthetic only: how many scenes. @default 1600 */
  count: z.int().min(1).optional(),
  /** dir: the dataset folder; zip: a local zip file. Relative paths are from the repo root. */
  path: z.string().min(1).optional(),
  /** zip: an https URL (needs sha256). */
  url: z.url({ protocol: /^https?$/ }).optional(),
  /** zip/kaggle: expected sha256 of the zip (required with url). */
  sha256: sha256Field.optional(),
  /** kaggle: "owner/name". @default "vijaykumar1799/face-mask-detection" for classification */
  dataset: z.string().optional(),
  /** Segmentation from files: `pairs` (images/ + masks/) or `oxford_pet` (images/ + annotations/trimaps/). */
  layout: z.enum(["pairs", "oxford_pet"]).optional(),
  /** Segmentation from files: the image folder inside the data set. @default by layout: "images" */
  images_dir: folderField.optional(),
  /** Segmentation from files: the mask folder, masks named as their images. @default by layout */
  masks_dir: folderField.optional(),
  /**
   * Segmentation from files: the mask pixel values of each class, e.g. `{ background: [0],
   * foreground: [255] }`. @default by layout: pairs 0 → background, 1 or 255 → foreground; oxford_pet
   * 2 → background, 1 (pet) or 3 (border) → foreground
   */
  mask_values: z.record(z.string().min(1), z.array(z.int().min(0).max(255)).min(1)).optional(),
  /** Per-class fractions; they must sum to 1. */
  split: z.strictObject({
    train: z.number().min(0).max(1),
    val: z.number().min(0).max(1),
    test: z.number().min(0).max(1),
  })
    .default({ train: 0.7, val: 0.15, test: 0.15 })
    .refine((s) => Math.abs(s.train + s.val + s.test - 1) < 1e-6, "split fractions must sum to 1"),
  /** zip/kaggle: what the archive may expand to, checked before anything is inflated (reasons in zip.ts). */
  zip_limits: z.strictObject({
    /** Total uncompressed bytes of the image entries (2 GiB). */
    max_total_bytes: z.int().min(1).default(DEFAULT_ZIP_LIMITS.max_total_bytes),
    /** Entries in the archive, folders and skipped files included (100,000). */
    max_entries: z.int().min(1).default(DEFAULT_ZIP_LIMITS.max_entries),
    /** Uncompressed / compressed size of any entry over 1 MiB (200). */
    max_ratio: z.number().min(1).default(DEFAULT_ZIP_LIMITS.max_ratio),
  }).default(DEFAULT_ZIP_LIMITS),
});

type Fields = z.output<typeof fields>;
type Issues = z.core.$RefinementCtx<Fields>;

function checkSource(p: Fields, ctx: Issues): void {
  if (p.source === "dir" && !p.path) {
    ctx.addIssue({ code: "custom", path: ["path"], message: 'source "dir" needs "path"' });
  }
  if (p.source === "zip" && !p.path === !p.url) {
    ctx.addIssue({
      code: "custom",
      path: ["path"],
      message: 'source "zip" needs exactly one of "path" or "url"',
    });
  }
  if (p.url && !p.sha256) ctx.addIssue({ code: "custom", path: ["sha256"], message: '"url" needs "sha256"' });
}

/** Fields of one task given to the other, and the segmentation table checked against the classes. */
function checkTask(p: Fields, ctx: Issues): void {
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  const given = (keys: (keyof Fields)[]) => keys.filter((k) => p[k] !== undefined);
  if (p.task === "classification") {
    for (const k of given(["count", "layout", "images_dir", "masks_dir", "mask_values"])) {
      issue(
        [k],
        `"${k}" is for task "segmentation"${k === "count" ? ' (classification uses "count_per_class")' : ""}`,
      );
    }
    return;
  }
  if (p.count_per_class !== undefined) {
    issue(
      ["count_per_class"],
      '"count_per_class" is for task "classification"; segmentation scenes use "count"',
    );
  }
  const classes = p.classes ?? DEFAULT_CLASSES.segmentation;
  if (classes.length > 2) {
    issue(
      ["classes"],
      `task "segmentation" takes two classes, background then target (got ${classes.length})`,
    );
  }
  if (p.source === "synthetic") {
    for (const k of given(["layout", "images_dir", "masks_dir", "mask_values"])) {
      issue([k], `"${k}" is for mask files (source dir, zip or kaggle); the synthetic scenes draw their own`);
    }
  } else if (p.count !== undefined) issue(["count"], '"count" is for source "synthetic"');
  if (p.source === "kaggle" && p.dataset === undefined) {
    issue(["dataset"], 'source "kaggle" with task "segmentation" needs "dataset" ("owner/name")');
  }
  const d = LAYOUTS[p.layout ?? "pairs"];
  const images = p.images_dir ?? d.images_dir, masks = p.masks_dir ?? d.masks_dir;
  const under = (a: string, b: string) => `${a}/`.startsWith(`${b.replace(/\/+$/, "")}/`);
  if (under(images, masks) || under(masks, images)) {
    issue(["masks_dir"], `"${masks}" and the image folder "${images}" must be separate folders`);
  }
  if (!p.mask_values) return;
  const owner = new Map<number, string>();
  for (const [name, values] of Object.entries(p.mask_values)) {
    if (!classes.includes(name)) {
      issue(["mask_values", name], `"${name}" is not one of the classes ${JSON.stringify(classes)}`);
    }
    for (const v of values) {
      const other = owner.get(v);
      if (other !== undefined && other !== name) {
        issue(["mask_values", name], `value ${v} is also listed under "${other}"`);
      }
      owner.set(v, name);
    }
  }
  for (const c of classes) {
    if (!(c in p.mask_values)) {
      issue(["mask_values"], `no values for class "${c}" (every class needs its mask values)`);
    }
  }
}

/** Validated params of the fetch stage for `task: classification`. */
export interface ClassificationParams {
  task: "classification";
  source: Fields["source"];
  classes: string[];
  size: number;
  count_per_class: number;
  path?: string;
  url?: string;
  sha256?: string;
  dataset: string;
  split: Fields["split"];
  zip_limits: Fields["zip_limits"];
}

/** Validated params of the fetch stage: per task, every default filled in. */
export type FetchParams = ClassificationParams | SegmentationParams;

/** Fill in the defaults that depend on the task and the layout. */
function withDefaults(p: Fields): FetchParams {
  const { source, size, path, url, sha256, split, zip_limits } = p;
  if (p.task === "classification") {
    return {
      task: "classification",
      source,
      classes: p.classes ?? DEFAULT_CLASSES.classification,
      size,
      count_per_class: p.count_per_class ?? 1638,
      path,
      url,
      sha256,
      dataset: p.dataset ?? "vijaykumar1799/face-mask-detection",
      split,
      zip_limits,
    };
  }
  const classes = p.classes ?? DEFAULT_CLASSES.segmentation,
    layout = p.layout ?? "pairs",
    d = LAYOUTS[layout];
  return {
    task: "segmentation",
    source,
    classes,
    size,
    count: p.count ?? 1600,
    layout,
    images_dir: p.images_dir ?? d.images_dir,
    masks_dir: p.masks_dir ?? d.masks_dir,
    mask_values: p.mask_values ?? Object.fromEntries(classes.map((c, k) => [c, [...d.values[k]]])),
    path,
    url,
    sha256,
    dataset: p.dataset,
    split,
    zip_limits,
  };
}

/**
 * Params of the fetch stage: checked (unknown keys rejected, errors naming the field), then the
 * task's defaults filled in. `shape` lets the pipeline file's checker list the known fields.
 */
export const paramsSchema = Object.assign(
  fields.superRefine((p, ctx) => (checkSource(p, ctx), checkTask(p, ctx))).transform(withDefaults),
  { shape: fields.shape },
);
