/// <reference lib="deno.worker" />
/** Draws synthetic faces for writeSyntheticDir and posts each one's RGB bytes back (transferred). */
import { type FaceJob, generateFace } from "./synthetic.ts";

self.onmessage = (e: MessageEvent<{ faces: FaceJob[]; size: number }>) => {
  try {
    e.data.faces.forEach((face, k) => {
      const rgb = generateFace(face.seed, face.withMask, e.data.size);
      self.postMessage({ k, rgb }, [rgb.buffer as ArrayBuffer]);
    });
  } catch (err) {
    self.postMessage({ error: String((err as Error)?.stack ?? err) });
  }
};
