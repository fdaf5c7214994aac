/**
 * Korean / English strings of the report. Every visible word of the report comes from here,
 * so adding a language means adding one more table.
 */

/** The languages the report is written in. */
export type Lang = "ko" | "en";

/** All languages, in the order the report writes them (Korean first: the seeds are Korean). */
export const LANGS: readonly Lang[] = ["ko", "en"];

const en = {
  "lang.name": "English",
  "lang.switchTitle": "Switch language",
  "title.default": "edgeslim report — {profile}",
  "overview.heading": "Overview",
  "overview.intro":
    "This report is generated from results.json of profile “{profile}”; every number below is read from that file.",
  "overview.profile": "Profile",
  "overview.seed": "Seed",
  "overview.generatedAt": "Results generated at",
  "overview.pipelineFile": "Pipeline file",
  "overview.pipelineSha": "Pipeline file SHA-256",
  "kv.key": "Key",
  "kv.value": "Value",
  "stages.heading": "Pipeline stages",
  "stages.stage": "Stage",
  "stages.status": "Status",
  "stages.seconds": "Time",
  "status.done": "done",
  "status.cached": "done (cached)",
  "status.not_implemented": "not implemented yet",
  "status.failed": "failed",
  "status.missing": "not run yet",
  "stage.fetch": "Data (fetch)",
  "stage.train": "Training (train)",
  "stage.compress": "Compression (compress)",
  "stage.export": "Export (export)",
  "stage.bench": "Benchmark (bench)",
  "stage.report": "Report (report)",
  "notice.not_implemented":
    "The “{stage}” stage is not implemented yet, so this section has no results. Nothing here is estimated or zero-filled.",
  "notice.missing": "The “{stage}” stage has not been run for this profile, so this section has no results.",
  "notice.failed": "The “{stage}” stage failed, so this section has no results.",
  "notice.noRows": "The “{stage}” stage finished but recorded no result rows.",
  "dataset.heading": "Task and dataset",
  "dataset.split": "Split",
  "dataset.total": "Total",
  "dataset.more": "… and {n} more",
  "dataset.empty": "The fetch stage recorded no dataset details.",
  "value.none": "none",
  "key.source": "Source",
  "key.root": "Data folder",
  "key.classes": "Classes",
  "key.size": "Image size (px)",
  "key.fit": "Resize mode",
  "key.images": "Images",
  "key.total": "Images per split",
  "key.counts": "Images per class and split",
  "key.skipped": "Skipped files",
  "key.skipped_files": "Skipped files",
  "key.ignored": "Ignored files",
  "key.ignored_files": "Ignored files (links, non-images)",
  "key.decoded": "Decoded",
  "key.from_cache": "Read from cache",
  "key.seed": "Seed",
  "key.path": "Path",
  "key.reason": "Reason",
  "models.heading": "Base model and trained models",
  "models.intro":
    "Metrics on the test split. Precision, recall and F1 are for the positive class “{positive}”. Parameters are counted as PyTorch does (BN running statistics excluded); the tfjs count includes them.",
  "models.none": "results.json holds no trained models.",
  "col.model": "Model",
  "col.technique": "Technique",
  "col.paramsTorch": "Parameters",
  "col.paramsTfjs": "Parameters (tfjs)",
  "col.bestEpoch": "Best epoch",
  "col.epochs": "Epochs run",
  "col.accuracy": "Accuracy (%)",
  "col.dice": "Dice (%)",
  "metric.accuracy": "accuracy",
  "metric.dice": "Dice",
  "axis.dice": "Dice",
  "col.precision": "Precision",
  "col.recall": "Recall",
  "col.f1": "F1",
  "col.trainTime": "Training time",
  "col.stoppedEarly": "(stopped early)",
  "curves.heading": "Training curves",
  "curves.caption": "Loss and accuracy per epoch: solid lines are training, dashed lines are validation.",
  "curves.loss": "Training / validation loss",
  "curves.accuracy": "Training / validation accuracy",
  "curves.epoch": "Epoch",
  "curves.lossAxis": "Loss",
  "curves.accAxis": "Accuracy",
  "curves.split": "Split",
  "curves.train": "Training",
  "curves.val": "Validation",
  "curves.none": "No training history in results.json.",
  "confusion.heading": "Confusion matrices",
  "confusion.intro": "Test split; rows are the true class, columns the predicted class.",
  "confusion.trueClass": "True ↓ / predicted →",
  "compress.heading": "Compression techniques",
  "export.heading": "Export",
  "bench.heading": "On-device results",
  "rows.heading": "Result rows",
  "task.intro":
    "Task: binary image classification (does the face wear a mask?) with classes {classes}, {size}×{size} RGB inputs. The seed used the Kaggle face-mask dataset (with_mask 1,620 / without_mask 1,656 images, 128×128); the data source of this profile is “{source}”.",
  "samples.heading": "Sample test images",
  "samples.trueOnly":
    "The first {n} images of the test split with their true labels. No stage recorded per-image predictions, and the report never runs a model itself, so predicted labels are not shown.",
  "samples.withPredictions":
    "The first {n} images of the test split: true label, and the prediction of {model} with its probability.",
  "samples.none": "The fetch stage's output folder was not available, so no sample images are shown.",
  "samples.true": "true",
  "samples.pred": "pred.",
  "base.intro":
    "The base model (teacher) and the students as the seed defines them: conv3×3 → BN → ReLU → MaxPool2, three times, global average pooling, dropout, dense 2. Channels and dropout per model:",
  "col.channels": "Channels",
  "col.dropout": "Dropout",
  "techniques.intro":
    "Each technique below starts from the trained teacher; its parameters are the ones the compress stage recorded.",
  "technique.distillation": "Knowledge distillation",
  "technique.pruning": "Structured (channel) pruning",
  "technique.pruning+distillation": "Structured pruning + distillation",
  "technique.unstructured": "Unstructured (magnitude) pruning",
  "method.distillation":
    "A small student learns from the teacher's softened outputs: loss = alpha·T²·KL(teacher/T ‖ student/T) + (1 − alpha)·CE(labels). The same student trained alone on the labels (same seed, epochs and batch order) is shown beside it.",
  "method.pruning":
    "Whole convolution channels with the smallest importance are removed (kept channels = floor(c × (1 − ratio)); the classifier is never pruned). The batch-norm statistics are then re-estimated on training images, and the smaller network is fine-tuned.",
  "method.pruning+distillation":
    "The same channel pruning, fine-tuned with the teacher's soft labels (distillation loss).",
  "method.unstructured":
    "Individual weights with the smallest magnitude are set to zero and kept at zero while fine-tuning (masks). The tensors keep their shape, so dense kernels do the same work.",
  "col.accPruned": "After pruning (%)",
  "col.accRecalibrated": "BN recalibrated (%)",
  "col.accFinetuned": "Fine-tuned (%)",
  "recovery.note":
    "Test accuracy straight after the cut, after re-estimating the batch-norm statistics on training images (no weight changes), and after fine-tuning (the statistics are re-estimated after every fine-tuning epoch too).",
  "col.pointsVsTeacher": "vs teacher (points)",
  "col.onlyTeacherRight": "Only teacher right",
  "col.onlyVariantRight": "Only variant right",
  "col.mcnemar": "McNemar p",
  "versus.heading": "Each variant against {ref}, image by image",
  "versus.note":
    "Paired on the same {n} test images (one image = {p} points): the images only one of the two got right, and the two-sided exact McNemar test on them. A large p means the gap could well be chance.",
  "fig.recovery.teacher": "teacher",
  "fig.recovery.caption":
    "Test accuracy against the share pruned: straight after the cut, after BN recalibration, and after fine-tuning; the dashed line is the teacher's accuracy.",
  "fig.recovery.ratio": "Channels removed (%)",
  "fig.recovery.sparsity": "Weights set to zero (%)",
  "fig.recovery.pruned": "After the cut",
  "fig.recovery.recalibrated": "BN recalibrated",
  "fig.recovery.finetuned": "Fine-tuned",
  "fig.recovery.withTeacher": "Fine-tuned with the teacher",
  "col.variant": "Variant",
  "col.paramsTotal": "Params (total)",
  "col.paramsNonzero": "Params (non-zero)",
  "col.sizeMiB": "Size (MiB)",
  "col.sizeMB": "Size (MB)",
  "col.flopsM": "FLOPs (M)",
  "col.latency": "Latency (ms)",
  "col.fps": "FPS",
  "col.format": "Format",
  "col.param": "Parameter",
  "seed.note":
    "Columns marked “seed (Jetson Nano)” are the seed document's own figures (Jetson Nano, CSI camera, mean of 100 runs), shown for comparison only; they were not measured here.",
  "variants.heading": "All variants compared",
  "variants.notMeasured": "Latency and FPS are missing: the bench stage has not measured these variants.",
  "variants.measuredNote":
    "Latency (mean) and FPS: device “{device}”, {format} via {runtime}, {threads} thread(s), batch 1, mean of {runs} runs. Size is that format's file.",
  "devices.heading": "On-device results",
  "devices.device": "Device: {device}",
  "devices.machine": "CPU: {cpu}, {cores} logical cores.",
  "devices.tableNote":
    "Mean latency per run, batch 1, {threads} thread(s), {runs} runs after warm-up; {metric} on the test split through the same runtime.",
  "fig.metrics.caption":
    "Non-zero parameters, size, FLOPs, latency and FPS per variant (latency and FPS: headline format of the first device).",
  "fig.latencyAxis": "Mean latency (ms)",
  "fig.pareto.caption":
    "Test {metric} against mean latency on “{device}”, one point per variant × format; the dashed line joins the Pareto front (labelled).",
  "fig.speedup.x": "FLOPs reduction vs teacher (×)",
  "fig.speedup.y": "Measured speed-up vs teacher (×)",
  "fig.speedup.caption":
    "FLOPs reduction against measured speed-up on “{device}”; points on the dotted line run as fast as their FLOPs predict.",
  "fig.predicted": "Predicted",
  "fig.truth": "True",
  "fig.count": "Images",
  "conclusion.heading": "Conclusion and future work",
  "conclusion.front":
    "On “{device}” the Pareto front of {metric} against latency (headline format) holds: {list}.",
  "conclusion.kdWon": "{kd} ({k} %) beat {alone} trained alone ({a} %) by {d} points: distillation won.",
  "conclusion.kdLost":
    "{alone} trained alone ({a} %) beat {kd} ({k} %) by {d} points: distillation did not help here.",
  "conclusion.kdTie": "{kd} and {alone} trained alone reached the same {metric} ({k} %).",
  "conclusion.fastest":
    "The fastest variant is {v}: {ms} ms, {x}× faster than {ref}, at {acc} % {metric} ({ref}: {refAcc} %).",
  "conclusion.unstructured":
    "{v} has {zeros} % zero weights but a measured speed-up of only {x}×: dense kernels skip no zeros.",
  "conclusion.none":
    "No conclusion can be drawn yet: the compress and bench stages have no results for this profile.",
  "future.heading": "Future work",
  "future.devices":
    "Measure on the embedded boards themselves (Jetson Nano, Raspberry Pi 4) through the SSH device stage; only this machine was measured.",
  "future.camera":
    "Reproduce the seed's live camera pipeline (Haar-cascade face detection, then the classifier) and report end-to-end FPS.",
  "future.int8": "Compare int8 against fp32 on ARM, where int8 kernels matter most.",
  "future.unet": "Add the second seed's depthwise-separable U-Net (Dice) to the same pipeline.",
  "env.deno": "Deno",
  "env.commit": "Git commit",
  "env.date": "Report built at",
  "env.machine": "Benchmark machine",
  "env.devices": "Devices",
  "footer.heading": "Environment",
  "footer.generatedBy": "Generated by the edgeslim report stage.",
  "unit.seconds": "{n} s",
  "unit.minutes": "{m} min {s} s",
  "title.both": "edgeslim report — {profile}: classification and segmentation",
  "overview.both":
    "It covers both seed projects: the face-mask classifier (seed 003) up to “Conclusion and future work”, and the standard vs depthwise-separable U-Net (seed 000) in “U-Net segmentation (seed 000)”.",
  "overview.segOnly": "It covers the U-Net seed (seed 000) alone: results.json has no classification track.",
  "stage.seg_fetch": "Segmentation data (seg_fetch)",
  "stage.seg_train": "U-Net training (seg_train)",
  "stage.seg_compress": "U-Net compression (seg_compress)",
  "stage.seg_export": "U-Net export (seg_export)",
  "stage.seg_bench": "U-Net benchmark (seg_bench)",
  "stage.live": "Live inference (live)",
  "live.heading": "Live inference (seed 003's camera loop)",
  "live.intro":
    "The seed ran its classifier live on a Jetson Nano: camera frames, faces found with OpenCV's Haar cascade, then each face classified. Here the same loop runs on {video} scaled to {width}×{height}, {frames} frames per run (Haar {scaleFactor} / {minNeighbors} / {minSize}, detection on the frame scaled by {detectScale}, every {detectEvery} frame(s)), per variant and format on “{device}”. Every number of ours is a median over those frames, read from results.json; the seed's figures are in the columns marked “{seed}”.",
  "live.hidden":
    "What a classifier-only figure hides: {variant} {format} classifies the faces of a frame in {classify} ms ({classifierFps} /s), yet the whole frame takes {total} ms ({fps} FPS end to end); detection alone is {detect} ms.",
  "live.variant": "Variant",
  "live.format": "Format",
  "live.fps": "FPS (end to end)",
  "live.classifierFps": "Classifier alone (/s)",
  "live.faces": "Faces",
  "live.seedFps": "FPS",
  "live.seedMs": "classifier ms",
  "live.stages.caption":
    "Median milliseconds of each stage of a frame, per variant and format: capture, Haar detection, crop + resize, classification, drawing.",
  "live.fps.caption":
    "End-to-end FPS against the classifier-only rate (1000 / median classify ms), log scale.",
  "live.strip": "Annotated frames of the first run",
  "live.kind.endToEnd": "end to end",
  "live.kind.classifier": "classifier alone",
  "fig.ms": "ms (median)",
  "fig.stage": "Stage",
  "fig.rate": "frames or faces per second",
  "seg.heading": "U-Net segmentation (seed 000)",
  "seg.intro":
    "The seed compares a standard U-Net with one whose convolutions are depthwise separable, and eight other lightweight techniques, by test Dice and the combined loss BCE + (1 − Dice), then runs the U-Net on a Raspberry Pi 4 through TensorFlow Lite. Every number of ours below is read from the segmentation track of results.json; the seed's own figures are in columns marked “seed 000”.",
  "seg.data.heading": "Task and dataset",
  "seg.table.heading": "Lightweight techniques",
  "seg.table.note":
    "First row of each variant (fp32): the trained model, with Dice, IoU and combined loss on the test split as its training stage scored it (tfjs, at the data set's resolution), size = float32 weights, latency = its first fp32 format measured on the device ({fp32}). Other rows: that file, with its size and its Dice through its runtime (export stage, else bench). Latency: batch 1, mean, fewest threads. ★ marks the best Dice per non-zero parameter, ◆ the best Dice per millisecond on a device.",
  "seg.col.dice": "Dice",
  "seg.col.iou": "IoU",
  "seg.col.loss": "Combined loss",
  "seg.col.dicePerM": "Dice / M params",
  "seg.col.best": "Best",
  "seg.col.latencyOn": "{device}: latency (ms)",
  "seg.col.fpsOn": "{device}: FPS",
  "seg.col.weightsMiB": "Float32 weights (MiB)",
  "seg.col.training": "Training",
  "seg.col.runtime": "Runtime",
  "seg.best.param": "★ Dice / parameter",
  "seg.best.ms": "◆ Dice / ms ({device})",
  "seg.devices.heading": "Latency per device and format",
  "seg.seed.heading": "The seed beside ours",
  "seg.seed.note":
    "Columns marked “seed 000” are the seed document's own figures (Kaggle notebook, 128×128×3 input; its Raspberry Pi 4 rows through TensorFlow Lite on {images} test images), shown for comparison only; they were not measured here. The seed prints its parameter counts as “204.7647M” and “38.0764M”; the digits are {standard} and {depthwise}.",
  "seg.seed.ours": "ours",
  "seg.seed.msPerStep": "{ms} ms/step",
  "seg.seed.total": "{time} in all",
  "seg.seed.deviceNote":
    "The seed's on-device rows: {device}, {images} test images. Ours: each TFLite file's Dice and combined loss on our test split (export stage).",
  "seg.search.found":
    "The seed's {target} parameters: {n} U-Net shapes searched ({space}); exact matches: {list}.",
  "seg.search.none":
    "No U-Net of the space searched has the seed's {target} parameters ({n} shapes: {space}). Nearest: {list}.",
  "seg.search.missing": "The training stage recorded no search for the seed's {target} parameters.",
  "seg.curves.dice": "Validation Dice",
  "seg.curves.loss": "Validation combined loss",
  "seg.curves.caption": "Validation Dice and combined loss BCE + (1 − Dice) per epoch, one line per model.",
  "seg.pareto.heading": "Dice against latency",
  "seg.fig.paramsAxis": "Non-zero parameters (log scale)",
  "seg.fig.best": "Best Dice / parameter",
  "seg.fig.paramsCaption":
    "Test Dice against non-zero parameters, one point per trained model; the diamond is the best Dice per parameter.",
  "seg.overlays.heading": "Test images: ground truth and predicted masks",
  "seg.overlays.intro":
    "The first {n} test images. Green: the ground-truth mask; orange: the mask each model predicted (probability ≥ 0.5), as its stage recorded it. Columns: {list}.",
  "seg.overlays.none":
    "No stage recorded predicted masks, or the segmentation fetch stage's output folder was not available, so no overlay grid is shown.",
  "seg.overlays.image": "Image",
  "seg.overlays.truth": "Ground truth",
  "seg.conclusion.heading": "Conclusion (U-Net)",
  "seg.conclusion.paramMatch":
    "Best Dice per parameter: {v} ({technique}), Dice {dice} with {params} non-zero parameters ({ratio} per million). This matches the seed, which found the depthwise U-Net best per parameter.",
  "seg.conclusion.paramDiffer":
    "Best Dice per parameter: {v} ({technique}), Dice {dice} with {params} non-zero parameters ({ratio} per million). This differs from the seed, which found the depthwise U-Net best per parameter; ours, {dw}, reaches {dwRatio} per million.",
  "seg.conclusion.paramNoDw":
    "Best Dice per parameter: {v} ({technique}), Dice {dice} with {params} non-zero parameters ({ratio} per million). The seed found the depthwise U-Net best; these results have no depthwise U-Net to compare.",
  "seg.conclusion.ms": "Best Dice per millisecond on “{device}”: {v} {format} (Dice {dice}, {ms} ms).",
  "seg.conclusion.front": "On “{device}” the Pareto front of Dice against latency holds: {list}.",
  "seg.conclusion.kdWon":
    "{kd} (Dice {k}) beat {alone} trained alone (Dice {a}) by {d} points: distillation won.",
  "seg.conclusion.kdLost":
    "{alone} trained alone (Dice {a}) beat {kd} (Dice {k}) by {d} points: distillation did not help here.",
  "seg.conclusion.kdTie": "{kd} and {alone} trained alone reached the same Dice ({k}).",
  "seg.conclusion.none": "No conclusion yet: the segmentation track has no test Dice.",
} as const;

/** A key of the string tables. */
export type StringKey = keyof typeof en;

const ko: Record<StringKey, string> = {
  "lang.name": "한국어",
  "lang.switchTitle": "언어 바꾸기",
  "title.default": "edgeslim 보고서 — {profile}",
  "overview.heading": "개요",
  "overview.intro":
    "이 보고서는 프로파일 “{profile}”의 results.json으로 만들었으며, 아래의 모든 수치는 이 파일에서 읽은 값입니다.",
  "overview.profile": "프로파일",
  "overview.seed": "시드",
  "overview.generatedAt": "결과 생성 시각",
  "overview.pipelineFile": "파이프라인 파일",
  "overview.pipelineSha": "파이프라인 파일 SHA-256",
  "kv.key": "항목",
  "kv.value": "값",
  "stages.heading": "파이프라인 단계",
  "stages.stage": "단계",
  "stages.status": "상태",
  "stages.seconds": "소요 시간",
  "status.done": "완료",
  "status.cached": "완료 (캐시 사용)",
  "status.not_implemented": "아직 구현되지 않음",
  "status.failed": "실패",
  "status.missing": "아직 실행되지 않음",
  "stage.fetch": "데이터 (fetch)",
  "stage.train": "학습 (train)",
  "stage.compress": "경량화 (compress)",
  "stage.export": "변환 (export)",
  "stage.bench": "벤치마크 (bench)",
  "stage.report": "보고서 (report)",
  "notice.not_implemented":
    "“{stage}” 단계는 아직 구현되지 않아 이 절에 표시할 결과가 없습니다. 추정값이나 0으로 채운 값은 넣지 않았습니다.",
  "notice.missing": "이 프로파일에서는 “{stage}” 단계가 아직 실행되지 않아 이 절에 표시할 결과가 없습니다.",
  "notice.failed": "“{stage}” 단계가 실패하여 이 절에 표시할 결과가 없습니다.",
  "notice.noRows": "“{stage}” 단계는 끝났지만 기록된 결과 행이 없습니다.",
  "dataset.heading": "과제와 데이터셋",
  "dataset.split": "분할",
  "dataset.total": "합계",
  "dataset.more": "… 외 {n}개",
  "dataset.empty": "fetch 단계가 데이터셋 정보를 기록하지 않았습니다.",
  "value.none": "없음",
  "key.source": "출처",
  "key.root": "데이터 폴더",
  "key.classes": "클래스",
  "key.size": "이미지 크기 (px)",
  "key.fit": "크기 조정 방식",
  "key.images": "이미지 수",
  "key.total": "분할별 이미지 수",
  "key.counts": "분할·클래스별 이미지 수",
  "key.skipped": "건너뛴 파일",
  "key.skipped_files": "건너뛴 파일",
  "key.ignored": "무시한 파일",
  "key.ignored_files": "무시한 파일 (링크, 이미지가 아닌 파일)",
  "key.decoded": "디코딩한 이미지",
  "key.from_cache": "캐시에서 읽은 이미지",
  "key.seed": "시드",
  "key.path": "경로",
  "key.reason": "사유",
  "models.heading": "기본 모델과 학습된 모델",
  "models.intro":
    "테스트 세트 기준 지표입니다. 정밀도, 재현율, F1은 양성 클래스 “{positive}” 기준입니다. 파라미터 수는 PyTorch 방식(BN 이동 평균·분산 제외)으로 셌고, tfjs 파라미터 수에는 이를 포함했습니다.",
  "models.none": "results.json에 학습된 모델이 없습니다.",
  "col.model": "모델",
  "col.technique": "기법",
  "col.paramsTorch": "파라미터 수",
  "col.paramsTfjs": "파라미터 수 (tfjs)",
  "col.bestEpoch": "최적 에포크",
  "col.epochs": "학습한 에포크",
  "col.accuracy": "정확도 (%)",
  "col.dice": "Dice (%)",
  "metric.accuracy": "정확도",
  "metric.dice": "Dice",
  "axis.dice": "Dice",
  "col.precision": "정밀도",
  "col.recall": "재현율",
  "col.f1": "F1",
  "col.trainTime": "학습 시간",
  "col.stoppedEarly": "(조기 종료)",
  "curves.heading": "학습 곡선",
  "curves.caption": "에포크별 손실과 정확도입니다. 실선은 학습, 점선은 검증 값입니다.",
  "curves.loss": "학습 / 검증 손실",
  "curves.accuracy": "학습 / 검증 정확도",
  "curves.epoch": "에포크",
  "curves.lossAxis": "손실",
  "curves.accAxis": "정확도",
  "curves.split": "구분",
  "curves.train": "학습",
  "curves.val": "검증",
  "curves.none": "results.json에 학습 기록이 없습니다.",
  "confusion.heading": "혼동 행렬",
  "confusion.intro": "테스트 세트 기준이며, 행은 실제 클래스, 열은 예측 클래스입니다.",
  "confusion.trueClass": "실제 ↓ / 예측 →",
  "compress.heading": "경량화 기법",
  "export.heading": "모델 변환",
  "bench.heading": "장치별 측정 결과",
  "rows.heading": "결과 행",
  "task.intro":
    "과제: 얼굴의 마스크 착용 여부를 가리는 이진 이미지 분류이며, 클래스는 {classes}, 입력은 {size}×{size} RGB입니다. 시드는 Kaggle face-mask 데이터셋(with_mask 1,620장 / without_mask 1,656장, 128×128)을 사용했고, 이 프로파일의 데이터 출처는 “{source}”입니다.",
  "samples.heading": "테스트 이미지 예시",
  "samples.trueOnly":
    "테스트 세트의 처음 {n}장과 실제 레이블입니다. 이미지별 예측을 기록한 단계가 없고 보고서는 모델을 직접 실행하지 않으므로 예측 레이블은 표시하지 않습니다.",
  "samples.withPredictions": "테스트 세트의 처음 {n}장: 실제 레이블과 {model}의 예측 및 확률입니다.",
  "samples.none": "fetch 단계의 출력 폴더를 찾을 수 없어 예시 이미지를 표시하지 않습니다.",
  "samples.true": "실제",
  "samples.pred": "예측",
  "base.intro":
    "시드가 정의한 기본 모델(Teacher)과 Student 모델입니다. conv3×3 → BN → ReLU → MaxPool2를 세 번 반복하고, 전역 평균 풀링, 드롭아웃, 출력 2개의 완전연결층으로 끝납니다. 모델별 채널과 드롭아웃:",
  "col.channels": "채널",
  "col.dropout": "드롭아웃",
  "techniques.intro":
    "아래의 각 기법은 학습된 Teacher에서 시작하며, 파라미터는 compress 단계가 기록한 값입니다.",
  "technique.distillation": "지식 증류 (Knowledge Distillation)",
  "technique.pruning": "구조적 (채널) 프루닝",
  "technique.pruning+distillation": "구조적 프루닝 + 지식 증류",
  "technique.unstructured": "비구조적 (크기 기반) 프루닝",
  "method.distillation":
    "작은 Student 모델이 Teacher의 부드러운 출력(소프트 라벨)으로 학습합니다: 손실 = alpha·T²·KL(teacher/T ‖ student/T) + (1 − alpha)·CE(라벨). 같은 Student를 라벨만으로 학습한 결과(같은 시드, 에포크, 배치 순서)를 함께 보입니다.",
  "method.pruning":
    "중요도가 가장 낮은 합성곱 채널을 통째로 제거하고(남기는 채널 = floor(c × (1 − 비율)), 분류층은 프루닝하지 않음), 학습 이미지로 배치 정규화 통계를 다시 추정한 뒤 작아진 모델을 미세 조정합니다.",
  "method.pruning+distillation": "같은 채널 프루닝 후, Teacher의 소프트 라벨(증류 손실)로 미세 조정합니다.",
  "method.unstructured":
    "크기가 가장 작은 개별 가중치를 0으로 만들고 미세 조정 동안 마스크로 0을 유지합니다. 텐서 모양은 그대로라 밀집 연산량은 같습니다.",
  "col.accPruned": "프루닝 직후 (%)",
  "col.accRecalibrated": "BN 재보정 후 (%)",
  "col.accFinetuned": "미세 조정 후 (%)",
  "recovery.note":
    "프루닝 직후, 학습 이미지로 배치 정규화 통계만 다시 추정한 뒤(가중치 변화 없음), 그리고 미세 조정 뒤의 테스트 정확도입니다(미세 조정 중에도 매 에폭 뒤 통계를 다시 추정합니다).",
  "col.pointsVsTeacher": "Teacher 대비 (%p)",
  "col.onlyTeacherRight": "Teacher만 맞힘",
  "col.onlyVariantRight": "변형만 맞힘",
  "col.mcnemar": "McNemar p",
  "versus.heading": "각 변형 모델과 {ref}의 이미지별 비교",
  "versus.note":
    "같은 테스트 이미지 {n}장으로 짝지어 비교합니다(이미지 1장 = {p}%p). 둘 중 한 모델만 맞힌 이미지 수와, 그에 대한 양측 정확 McNemar 검정입니다. p가 크면 차이가 우연일 수 있다는 뜻입니다.",
  "fig.recovery.teacher": "Teacher",
  "fig.recovery.caption":
    "프루닝 비율에 따른 테스트 정확도: 프루닝 직후, BN 재보정 후, 미세 조정 후. 점선은 Teacher의 정확도입니다.",
  "fig.recovery.ratio": "제거한 채널 (%)",
  "fig.recovery.sparsity": "0으로 만든 가중치 (%)",
  "fig.recovery.pruned": "프루닝 직후",
  "fig.recovery.recalibrated": "BN 재보정 후",
  "fig.recovery.finetuned": "미세 조정 후",
  "fig.recovery.withTeacher": "Teacher와 함께 미세 조정 후",
  "col.variant": "변형 모델",
  "col.paramsTotal": "파라미터 (전체)",
  "col.paramsNonzero": "파라미터 (0 아님)",
  "col.sizeMiB": "크기 (MiB)",
  "col.sizeMB": "크기 (MB)",
  "col.flopsM": "FLOPs (M)",
  "col.latency": "추론 시간 (ms)",
  "col.fps": "FPS",
  "col.format": "형식",
  "col.param": "파라미터",
  "seed.note":
    "“시드 (Jetson Nano)” 열은 시드 문서에 적힌 수치(Jetson Nano, CSI 카메라, 100회 평균)로 비교용일 뿐이며, 여기서 측정한 값이 아닙니다.",
  "variants.heading": "전체 변형 모델 비교",
  "variants.notMeasured": "bench 단계가 이 모델들을 측정하지 않아 추론 시간과 FPS가 비어 있습니다.",
  "variants.measuredNote":
    "추론 시간(평균)과 FPS: 장치 “{device}”, {runtime}의 {format}, 스레드 {threads}개, 배치 1, {runs}회 평균입니다. 크기는 해당 형식의 파일 크기입니다.",
  "devices.heading": "장치별 측정 결과",
  "devices.device": "장치: {device}",
  "devices.machine": "CPU: {cpu}, 논리 코어 {cores}개.",
  "devices.tableNote":
    "배치 1, 스레드 {threads}개, 워밍업 후 {runs}회 평균 추론 시간이며, {metric}는 같은 런타임으로 테스트 세트에서 잰 값입니다.",
  "fig.metrics.caption":
    "변형 모델별 0이 아닌 파라미터, 크기, FLOPs, 추론 시간, FPS (추론 시간과 FPS는 첫 장치의 대표 형식 기준).",
  "fig.latencyAxis": "평균 추론 시간 (ms)",
  "fig.pareto.caption":
    "“{device}”에서의 테스트 {metric} 대 평균 추론 시간 (변형 모델 × 형식마다 한 점). 점선은 파레토 최전선을 잇고 이름을 붙였습니다.",
  "fig.speedup.x": "Teacher 대비 FLOPs 감소 (배)",
  "fig.speedup.y": "Teacher 대비 실측 속도 향상 (배)",
  "fig.speedup.caption":
    "“{device}”에서의 FLOPs 감소 대 실측 속도 향상. 점선 위의 점은 FLOPs가 예측한 만큼 빨라진 것입니다.",
  "fig.predicted": "예측",
  "fig.truth": "실제",
  "fig.count": "이미지 수",
  "conclusion.heading": "결론 및 향후 과제",
  "conclusion.front": "“{device}”에서 {metric} 대 추론 시간(대표 형식)의 파레토 최전선: {list}.",
  "conclusion.kdWon":
    "{kd}({k} %)가 단독 학습한 {alone}({a} %)보다 {d}%p 높았습니다: 지식 증류가 이겼습니다.",
  "conclusion.kdLost":
    "단독 학습한 {alone}({a} %)가 {kd}({k} %)보다 {d}%p 높았습니다: 여기서는 지식 증류가 도움이 되지 않았습니다.",
  "conclusion.kdTie": "{kd}와 단독 학습한 {alone}의 {metric}가 같았습니다 ({k} %).",
  "conclusion.fastest":
    "가장 빠른 변형 모델은 {v}입니다: {ms} ms로 {ref}보다 {x}배 빠르며, {metric}는 {acc} %입니다 ({ref}: {refAcc} %).",
  "conclusion.unstructured":
    "{v}는 가중치의 {zeros} %가 0이지만 실측 속도 향상은 {x}배에 그칩니다: 밀집 연산은 0을 건너뛰지 않습니다.",
  "conclusion.none": "아직 결론을 낼 수 없습니다: 이 프로파일에는 compress와 bench 단계의 결과가 없습니다.",
  "future.heading": "향후 과제",
  "future.devices":
    "SSH 장치 단계로 임베디드 보드(Jetson Nano, Raspberry Pi 4)에서 직접 측정하기. 지금은 이 컴퓨터에서만 측정했습니다.",
  "future.camera":
    "시드의 실시간 카메라 파이프라인(Haar cascade 얼굴 검출 후 분류)을 재현하고 종단 간 FPS를 보고하기.",
  "future.int8": "int8 연산이 가장 중요한 ARM에서 int8과 fp32를 비교하기.",
  "future.unet": "두 번째 시드의 Depthwise separable U-Net(Dice)을 같은 파이프라인에 추가하기.",
  "env.deno": "Deno",
  "env.commit": "Git 커밋",
  "env.date": "보고서 생성 시각",
  "env.machine": "벤치마크 컴퓨터",
  "env.devices": "장치",
  "footer.heading": "실행 환경",
  "footer.generatedBy": "edgeslim report 단계에서 생성했습니다.",
  "unit.seconds": "{n}초",
  "unit.minutes": "{m}분 {s}초",
  "title.both": "edgeslim 보고서 — {profile}: 분류와 분할",
  "overview.both":
    "두 시드 프로젝트를 모두 다룹니다: “결론 및 향후 과제”까지는 마스크 착용 분류기(시드 003), “U-Net 분할 (시드 000)”에서는 표준 U-Net과 Depthwise separable U-Net(시드 000)입니다.",
  "overview.segOnly": "U-Net 시드(시드 000)만 다룹니다: results.json에 분류 결과가 없습니다.",
  "stage.seg_fetch": "분할 데이터 (seg_fetch)",
  "stage.seg_train": "U-Net 학습 (seg_train)",
  "stage.seg_compress": "U-Net 경량화 (seg_compress)",
  "stage.seg_export": "U-Net 변환 (seg_export)",
  "stage.seg_bench": "U-Net 벤치마크 (seg_bench)",
  "stage.live": "실시간 추론 (live)",
  "live.heading": "실시간 추론 (시드 003의 카메라 루프)",
  "live.intro":
    "시드는 분류기를 Jetson Nano에서 실시간으로 실행했습니다: 카메라 프레임에서 OpenCV Haar cascade로 얼굴을 찾고, 얼굴마다 분류합니다. 여기서는 같은 루프를 {video}를 {width}×{height}로 맞춘 영상에서 실행마다 {frames}프레임씩(Haar {scaleFactor} / {minNeighbors} / {minSize}, 검출은 {detectScale}배로 줄인 프레임에서 {detectEvery}프레임마다), 변형과 형식별로 “{device}”에서 실행했습니다. 우리 수치는 모두 그 프레임들의 중앙값이며 results.json에서 읽었고, 시드의 수치는 “{seed}” 열에 따로 적었습니다.",
  "live.hidden":
    "분류기만 잰 수치가 가리는 것: {variant} {format}은 한 프레임의 얼굴을 {classify} ms에 분류하지만({classifierFps} /s), 프레임 전체는 {total} ms가 걸립니다(종단 간 {fps} FPS). 검출만 {detect} ms입니다.",
  "live.variant": "변형",
  "live.format": "형식",
  "live.fps": "FPS (종단 간)",
  "live.classifierFps": "분류기만 (/s)",
  "live.faces": "얼굴 수",
  "live.seedFps": "FPS",
  "live.seedMs": "분류기 ms",
  "live.stages.caption":
    "프레임 한 장의 단계별 중앙값(ms), 변형과 형식별: 캡처, Haar 검출, 자르기 + 크기 조정, 분류, 그리기.",
  "live.fps.caption": "종단 간 FPS와 분류기만의 속도(1000 / 분류 중앙값 ms), 로그 눈금.",
  "live.strip": "첫 실행의 주석 달린 프레임",
  "live.kind.endToEnd": "종단 간",
  "live.kind.classifier": "분류기만",
  "fig.ms": "ms (중앙값)",
  "fig.stage": "단계",
  "fig.rate": "초당 프레임 또는 얼굴",
  "seg.heading": "U-Net 분할 (시드 000)",
  "seg.intro":
    "시드는 표준 U-Net과 합성곱을 Depthwise separable로 바꾼 U-Net, 그리고 다른 8가지 경량화 기법을 테스트 Dice와 결합 손실 BCE + (1 − Dice)로 비교하고, TensorFlow Lite로 Raspberry Pi 4에서 실행했습니다. 아래의 우리 수치는 모두 results.json의 분할 결과에서 읽은 값이며, 시드 문서의 수치는 “시드 000” 열에 따로 적었습니다.",
  "seg.data.heading": "과제와 데이터셋",
  "seg.table.heading": "경량화 기법",
  "seg.table.note":
    "각 변형 모델의 첫 행(fp32)은 학습된 모델입니다. Dice, IoU, 결합 손실은 학습 단계가 테스트 세트에서 잰 값(tfjs, 데이터셋 해상도)이고, 크기는 float32 가중치, 추론 시간은 해당 장치에서 측정된 첫 fp32 형식({fp32})입니다. 나머지 행은 해당 형식의 파일로, 파일 크기와 그 런타임으로 잰 Dice(export 단계, 없으면 bench)입니다. 추론 시간은 배치 1, 평균, 가장 적은 스레드 기준입니다. ★는 0이 아닌 파라미터당 Dice가 가장 높은 모델, ◆는 장치별 밀리초당 Dice가 가장 높은 행입니다.",
  "seg.col.dice": "Dice",
  "seg.col.iou": "IoU",
  "seg.col.loss": "결합 손실",
  "seg.col.dicePerM": "Dice / 백만 파라미터",
  "seg.col.best": "최고",
  "seg.col.latencyOn": "{device}: 추론 시간 (ms)",
  "seg.col.fpsOn": "{device}: FPS",
  "seg.col.weightsMiB": "float32 가중치 (MiB)",
  "seg.col.training": "학습",
  "seg.col.runtime": "런타임",
  "seg.best.param": "★ 파라미터당 Dice",
  "seg.best.ms": "◆ ms당 Dice ({device})",
  "seg.devices.heading": "장치·형식별 추론 시간",
  "seg.seed.heading": "시드와 우리 결과 비교",
  "seg.seed.note":
    "“시드 000” 열은 시드 문서에 적힌 수치(Kaggle 노트북, 입력 128×128×3; Raspberry Pi 4 행은 TensorFlow Lite로 테스트 이미지 {images}장)로 비교용일 뿐이며, 여기서 측정한 값이 아닙니다. 시드는 파라미터 수를 “204.7647M”, “38.0764M”으로 적었는데, 숫자는 {standard}과 {depthwise}입니다.",
  "seg.seed.ours": "우리",
  "seg.seed.msPerStep": "{ms} ms/step",
  "seg.seed.total": "전체 {time}",
  "seg.seed.deviceNote":
    "시드의 장치 행: {device}, 테스트 이미지 {images}장. 우리 값: 각 TFLite 파일의 우리 테스트 세트 Dice와 결합 손실(export 단계)입니다.",
  "seg.search.found":
    "시드의 파라미터 {target}개: U-Net 구조 {n}가지를 탐색했고({space}), 정확히 일치한 구조: {list}.",
  "seg.search.none":
    "탐색한 U-Net 구조 중 시드의 파라미터 {target}개와 같은 것은 없습니다(구조 {n}가지: {space}). 가장 가까운 구조: {list}.",
  "seg.search.missing": "학습 단계가 시드의 파라미터 {target}개에 대한 탐색을 기록하지 않았습니다.",
  "seg.curves.dice": "검증 Dice",
  "seg.curves.loss": "검증 결합 손실",
  "seg.curves.caption": "에포크별 검증 Dice와 결합 손실 BCE + (1 − Dice)이며, 모델마다 선 하나입니다.",
  "seg.pareto.heading": "Dice 대 추론 시간",
  "seg.fig.paramsAxis": "0이 아닌 파라미터 (로그 척도)",
  "seg.fig.best": "파라미터당 Dice 최고",
  "seg.fig.paramsCaption":
    "학습된 모델마다 한 점으로 나타낸 테스트 Dice 대 0이 아닌 파라미터 수. 마름모가 파라미터당 Dice가 가장 높은 모델입니다.",
  "seg.overlays.heading": "테스트 이미지: 정답 마스크와 예측 마스크",
  "seg.overlays.intro":
    "테스트 세트의 처음 {n}장입니다. 초록색은 정답 마스크, 주황색은 각 모델이 예측한 마스크(확률 ≥ 0.5)로 해당 단계가 기록한 것입니다. 열: {list}.",
  "seg.overlays.none":
    "예측 마스크를 기록한 단계가 없거나 분할 fetch 단계의 출력 폴더를 찾을 수 없어 겹쳐 보기 표를 표시하지 않습니다.",
  "seg.overlays.image": "이미지",
  "seg.overlays.truth": "정답",
  "seg.conclusion.heading": "결론 (U-Net)",
  "seg.conclusion.paramMatch":
    "파라미터당 Dice 최고: {v}({technique}), 0이 아닌 파라미터 {params}개로 Dice {dice} (백만 개당 {ratio}). 파라미터 대비 Depthwise U-Net이 가장 좋았다는 시드의 결과와 같습니다.",
  "seg.conclusion.paramDiffer":
    "파라미터당 Dice 최고: {v}({technique}), 0이 아닌 파라미터 {params}개로 Dice {dice} (백만 개당 {ratio}). 파라미터 대비 Depthwise U-Net이 가장 좋았다는 시드의 결과와 다릅니다. 우리의 {dw}는 백만 개당 {dwRatio}입니다.",
  "seg.conclusion.paramNoDw":
    "파라미터당 Dice 최고: {v}({technique}), 0이 아닌 파라미터 {params}개로 Dice {dice} (백만 개당 {ratio}). 시드는 Depthwise U-Net이 가장 좋았지만, 이 결과에는 비교할 Depthwise U-Net이 없습니다.",
  "seg.conclusion.ms": "“{device}”에서 ms당 Dice 최고: {v} {format} (Dice {dice}, {ms} ms).",
  "seg.conclusion.front": "“{device}”에서 Dice 대 추론 시간의 파레토 최전선: {list}.",
  "seg.conclusion.kdWon":
    "{kd}(Dice {k})가 단독 학습한 {alone}(Dice {a})보다 {d}%p 높았습니다: 지식 증류가 이겼습니다.",
  "seg.conclusion.kdLost":
    "단독 학습한 {alone}(Dice {a})가 {kd}(Dice {k})보다 {d}%p 높았습니다: 여기서는 지식 증류가 도움이 되지 않았습니다.",
  "seg.conclusion.kdTie": "{kd}와 단독 학습한 {alone}의 Dice가 같았습니다 ({k}).",
  "seg.conclusion.none": "아직 결론을 낼 수 없습니다: 분할 결과에 테스트 Dice가 없습니다.",
};

const TABLES: Record<Lang, Record<StringKey, string>> = { en, ko };

/**
 * The string `key` in `lang`, with `{name}` placeholders filled from `vars`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { t } from "./i18n.ts";
 * assert(t("ko", "curves.heading") === "학습 곡선");
 * assert(t("en", "title.default", { profile: "quick" }) === "edgeslim report — quick");
 * ```
 */
export function t(lang: Lang, key: StringKey, vars: Record<string, string | number> = {}): string {
  const template = TABLES[lang][key];
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => name in vars ? String(vars[name]) : whole);
}

/**
 * The translated label of a results.json key path ("counts", "total.train"): the first
 * segment is translated when the tables know it, the rest is kept as written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keyLabel } from "./i18n.ts";
 * assert(keyLabel("ko", "total.train") === "분할별 이미지 수 · train");
 * assert(keyLabel("en", "unknown_key") === "unknown_key");
 * ```
 */
export function keyLabel(lang: Lang, path: string): string {
  const [head, ...rest] = path.split(".");
  const key = `key.${head}` as StringKey;
  if (!(key in en)) return path;
  return [t(lang, key), ...rest].join(" · ");
}

/** The translated name of a stage, or the raw name for a stage the tables do not know. */
export function stageName(lang: Lang, stage: string): string {
  const key = `stage.${stage}` as StringKey;
  return key in en ? t(lang, key) : stage;
}
