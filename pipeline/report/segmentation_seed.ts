/**
 * The U-Net section's "seed beside ours" sub-section: the seed's own figures (seed_figures.ts only,
 * in columns labelled as the seed's) next to our unet_standard / unet_depthwise, the seed's
 * Raspberry Pi rows next to our TFLite files, and the outcome of the search for the topology
 * behind the seed's 2,047,647 parameters.
 */
import type { Block } from "./document.ts";
import { duration, fixed, integer, MISSING, scalar } from "./format.ts";
import { type Lang, t } from "./i18n.ts";
import {
  SEG_SEED_BEST_PER_PARAMETER,
  SEG_SEED_DEVICE,
  SEG_SEED_DEVICE_IMAGES,
  SEG_SEED_FIGURES,
  SEG_SEED_FPS,
  SEG_SEED_LABEL,
} from "./seed_figures.ts";
import {
  depthwiseVariant,
  exportedScores,
  exportRecord,
  referenceVariant,
  segDevices,
  type SegTableRow,
  type SegTrack,
} from "./segmentation_data.ts";
import { isRecord, num } from "./variants.ts";

const MIB = 2 ** 20;

/** Dice, IoU and loss as the seed prints them: a fraction with 4 decimals. */
const frac = (v: unknown) => fixed(v, 4);

/** Our fp32 row of the seed's model `key`, found by technique (reference, depthwise) or name. */
function oursOf(rows: SegTableRow[], key: keyof typeof SEG_SEED_FIGURES): SegTableRow | undefined {
  const variant = key === "unet_standard" ? referenceVariant(rows) : depthwiseVariant(rows);
  return rows.find((r) => r.variant === variant && r.format === "fp32");
}

/** The seed's two U-Nets beside ours (Kaggle table, Raspberry Pi rows) and the parameter search. */
export function seedBlocks(track: SegTrack, rows: SegTableRow[], lang: Lang): Block[] {
  const seed = SEG_SEED_LABEL[lang], ours = t(lang, "seg.seed.ours");
  const devices = segDevices(track);
  const keys = Object.keys(SEG_SEED_FIGURES) as (keyof typeof SEG_SEED_FIGURES)[];
  const training = (r: SegTableRow | undefined) => {
    const ms = num(track.models?.[r?.variant ?? ""]?.step_ms);
    if (ms !== undefined) return t(lang, "seg.seed.msPerStep", { ms: fixed(ms, 1) });
    return r?.train_seconds === undefined
      ? MISSING
      : t(lang, "seg.seed.total", { time: duration(r.train_seconds, lang) });
  };
  const header = [
    t(lang, "col.model"),
    `${t(lang, "seg.col.dice")} — ${seed}`,
    `${t(lang, "seg.col.dice")} — ${ours}`,
    `${t(lang, "col.sizeMB")} — ${seed}`,
    `${t(lang, "seg.col.weightsMiB")} — ${ours}`,
    `${t(lang, "col.paramsTotal")} — ${seed}`,
    `${t(lang, "col.paramsTotal")} — ${ours}`,
    `${t(lang, "seg.col.training")} — ${seed}`,
    `${t(lang, "seg.col.training")} — ${ours}`,
    `${t(lang, "col.fps")} ${SEG_SEED_DEVICE} — ${seed}`,
    ...devices.map((d) => `${t(lang, "col.fps")} ${d} — ${ours}`),
  ];
  const body = keys.map((key) => {
    const f = SEG_SEED_FIGURES[key], r = oursOf(rows, key);
    const weights = num(r?.facts.weight_bytes);
    return [
      `${r?.variant ?? MISSING} (${f.model})`,
      frac(f.dice),
      frac(r?.dice),
      fixed(f.size_mb, 2),
      weights === undefined ? MISSING : fixed(weights / MIB, 2),
      integer(f.params),
      integer(r?.facts.params_total),
      t(lang, "seg.seed.msPerStep", { ms: f.step_ms }),
      training(r),
      key === SEG_SEED_BEST_PER_PARAMETER ? fixed(SEG_SEED_FPS, 1) : MISSING,
      ...devices.map((d) => {
        const m = r?.measured[d];
        return num(m?.fps) === undefined ? MISSING : `${fixed(m!.fps, 1)} (${m!.format})`;
      }),
    ];
  });
  const blocks: Block[] = [
    { kind: "heading", level: 3, text: t(lang, "seg.seed.heading"), id: "seg-seed" },
    { kind: "table", header, rows: body, align: header.map((_, i) => i === 0 ? "left" : "right") },
    {
      kind: "paragraph",
      text: t(lang, "seg.seed.note", {
        images: SEG_SEED_DEVICE_IMAGES,
        standard: integer(SEG_SEED_FIGURES.unet_standard.params),
        depthwise: integer(SEG_SEED_FIGURES.unet_depthwise.params),
      }),
    },
  ];
  // On the device: the seed's Raspberry Pi rows beside each of our TFLite files' Dice and loss.
  const exported = (v: string | undefined) => {
    const e = v === undefined ? undefined : track.extra?.export?.exports;
    const formats = isRecord(e) && isRecord(e[v!]) ? (e[v!] as Record<string, unknown>).formats : undefined;
    return isRecord(formats) ? Object.keys(formats) : [];
  };
  const tflite = [
    ...new Set(
      keys.flatMap((key) => exported(oursOf(rows, key)?.variant).filter((f) => f.startsWith("tflite"))),
    ),
  ].sort();
  const deviceHeader = [
    t(lang, "col.model"),
    `${t(lang, "seg.col.runtime")} — ${seed}`,
    `${t(lang, "seg.col.dice")} ${SEG_SEED_DEVICE} — ${seed}`,
    `${t(lang, "seg.col.loss")} ${SEG_SEED_DEVICE} — ${seed}`,
    ...tflite.flatMap((
      f,
    ) => [`${t(lang, "seg.col.dice")} — ${ours} (${f})`, `${t(lang, "seg.col.loss")} — ${ours} (${f})`]),
  ];
  blocks.push(
    {
      kind: "table",
      header: deviceHeader,
      align: deviceHeader.map((_, i) => i < 2 ? "left" : "right"),
      rows: keys.map((key) => {
        const f = SEG_SEED_FIGURES[key], v = oursOf(rows, key)?.variant;
        return [
          `${v ?? MISSING} (${f.model})`,
          f.device_runtime,
          frac(f.device_dice),
          frac(f.device_loss),
          ...tflite.flatMap((format) => {
            const e = exportedScores(v === undefined ? undefined : exportRecord(track, v, format));
            return [frac(e.dice), frac(e.loss)];
          }),
        ];
      }),
    },
    {
      kind: "paragraph",
      text: t(lang, "seg.seed.deviceNote", { device: SEG_SEED_DEVICE, images: SEG_SEED_DEVICE_IMAGES }),
    },
    searchBlock(track, lang),
  );
  return blocks;
}

/** The search for the topology behind the seed's 2,047,647 parameters (train stage), or that none was recorded. */
function searchBlock(track: SegTrack, lang: Lang): Block {
  const s = track.extra?.train?.param_search;
  const target = integer(isRecord(s) ? s.target : SEG_SEED_FIGURES.unet_standard.params);
  if (!isRecord(s)) return { kind: "paragraph", text: t(lang, "seg.search.missing", { target }) };
  const list = (items: unknown, delta: boolean) =>
    (Array.isArray(items) ? items : []).filter(isRecord).map((i) => {
      const d = num(i.delta);
      const sign = d !== undefined && d > 0 ? "+" : "";
      return `${scalar(i.description)} (${integer(i.params)}${
        delta && d !== undefined ? `, Δ ${sign}${integer(d)}` : ""
      })`;
    }).join("; ") || MISSING;
  const found = Array.isArray(s.found) && s.found.length > 0;
  return {
    kind: "paragraph",
    text: t(lang, found ? "seg.search.found" : "seg.search.none", {
      target,
      n: integer(s.searched),
      space: scalar(s.space),
      list: found ? list(s.found, false) : list(s.nearest, true),
    }),
  };
}
