"""Reference for haar.ts: python3-opencv's native CascadeClassifier on the very same raw RGB24 frames.

Reads one JSON job on stdin, writes one JSON answer on stdout:
  {"mode": "detect" | "bench", "cascade": path, "frames": path of concatenated RGB24 frames,
   "width": w, "height": h, "settings": [{"scaleFactor", "minNeighbors", "minSize", "detectScale"}],
   "rounds": n (bench only), "threads": n (bench only, 0 = OpenCV's default)}
detect answers {"opencv": version, "boxes": [setting][frame] -> [[x, y, w, h], ...]};
bench answers {"opencv": version, "threads": n, "medianMs": [setting] -> median ms of one detect}.
The pipeline mirrors haar.ts: RGB -> BGR (here, untimed) -> BGR2GRAY -> INTER_AREA downscale -> detect.
"""
import json
import math
import statistics
import sys
import time

import cv2
import numpy as np


def round_half_up(v):
    """Math.round of JavaScript, so both sides map boxes and sizes identically."""
    return int(math.floor(v + 0.5))


def load_frames(job):
    raw = np.fromfile(job["frames"], dtype=np.uint8)
    rgb = raw.reshape(-1, job["height"], job["width"], 3)
    return [np.ascontiguousarray(frame[:, :, ::-1]) for frame in rgb]


def detect(classifier, bgr, s):
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    scale = s["detectScale"]
    if scale != 1:
        size = (max(1, round_half_up(gray.shape[1] * scale)), max(1, round_half_up(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    side = max(1, round_half_up(s["minSize"] * scale))
    found = classifier.detectMultiScale(gray, scaleFactor=s["scaleFactor"], minNeighbors=s["minNeighbors"],
                                        minSize=(side, side))
    sx, sy = bgr.shape[1] / gray.shape[1], bgr.shape[0] / gray.shape[0]
    return [[round_half_up(v * k) for v, k in zip(box, (sx, sy, sx, sy))] for box in found]


def median_ms(classifier, frames, s, rounds):
    detect(classifier, frames[0], s)
    times = []
    for _ in range(rounds):
        for bgr in frames:
            start = time.perf_counter()
            detect(classifier, bgr, s)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    job = json.load(sys.stdin)
    classifier = cv2.CascadeClassifier(job["cascade"])
    if classifier.empty():
        sys.exit(f"cannot load cascade {job['cascade']}")
    frames = load_frames(job)
    answer = {"opencv": cv2.__version__}
    if job["mode"] == "detect":
        answer["boxes"] = [[detect(classifier, f, s) for f in frames] for s in job["settings"]]
    else:
        if job.get("threads", 0) > 0:
            cv2.setNumThreads(job["threads"])
        answer["threads"] = cv2.getNumThreads()
        answer["medianMs"] = [median_ms(classifier, frames, s, job["rounds"]) for s in job["settings"]]
    json.dump(answer, sys.stdout)


main()
