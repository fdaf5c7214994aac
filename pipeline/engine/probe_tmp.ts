import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
await tf.setBackend("wasm");
await tf.ready();
function time(name: string, flops: number, f: () => tf.Tensor, reps = 3) {
  f().dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const r = f();
    r.dataSync();
    r.dispose();
  }
  const ms = (performance.now() - t0) / reps;
  console.log(name, ms.toFixed(1), "ms", (flops / ms / 1e6).toFixed(1), "GFLOP/s");
}
const N = 16;
for (const [H, ci, co] of [[128, 3, 32], [64, 32, 64], [32, 64, 128]]) {
  const x = tf.randomNormal([N, H, H, ci]);
  const w = tf.randomNormal([3, 3, ci, co]);
  const fl = 2 * N * H * H * 9 * ci * co;
  console.log("--", H, ci, co);
  time("fwd conv", fl, () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "same"));
  const dy = tf.randomNormal([N, H, H, co]);
  const wr = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]);
  time("dx conv trick", fl, () => tf.conv2d(dy as tf.Tensor4D, wr as tf.Tensor4D, 1, "same"));
  const K = N * H * H;
  const P = tf.randomNormal([K, 9 * ci]);
  const PT = tf.randomNormal([9 * ci, K]);
  const dy2 = dy.reshape([K, co]);
  time("dW matMul PT·dy", fl, () => tf.matMul(PT, dy2));
  time("dW matMul P^T·dy (transposeA)", fl, () => tf.matMul(P, dy2, true, false), 1);
  const dyT = tf.randomNormal([co, K]);
  time("dW^T matMul dyT·P", fl, () => tf.matMul(dyT, P));
  time("transpose dy", 0, () => tf.transpose(dy2));
  time(
    "dW conv1x1 PT as input",
    fl,
    () =>
      tf.conv2d(
        PT.reshape([1, 1, 9 * ci, K]) as tf.Tensor4D,
        dy2.reshape([1, 1, K, co]) as tf.Tensor4D,
        1,
        "valid",
      ),
  );
  time("dP = dy·W^T matMul", fl, () => tf.matMul(dy2, w.reshape([9 * ci, co]), false, true));
  tf.dispose([x, w, dy, wr, P, PT, dy2, dyT]);
}
