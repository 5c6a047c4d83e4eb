r"""
5. From notebook to production: train, evaluate, export to ONNX, serve with onnxruntime
=======================================================================================

A model goes through four stages on its way to a service: it is trained, evaluated on rows it has
not seen, written to a file, and served by a runtime that does not need the training code. This
tutorial does all four on scikit-learn's bundled 8x8 digits (no download). The same steps on the
command line are ``deltaprop train --out``, ``deltaprop evaluate``, ``deltaprop export --format
onnx`` (see :doc:`/guide/cli`).
"""

# %%
# Train, with a validation set and early stopping
# -----------------------------------------------
import json
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnx
import onnxruntime

import deltaprop as dp
from deltaprop.datasets import Scaling, load_digits
from deltaprop.export import to_onnx

ds = load_digits()  # inputs already divided by 16 (ds.scaling records it)
X_fit, y_fit = ds.X_train[:1100], ds.y_train[:1100]
X_val, y_val = ds.X_train[1100:], ds.y_train[1100:]
net = dp.Network([64, 128, 10], ["relu", "softmax"], "cross_entropy", seed=0)
net.scaling, net.classes = ds.scaling, ds.classes  # saved with the model, applied when serving
history = net.fit(X_fit, y_fit, epochs=60, batch_size=32, optimizer="momentum", lr=0.05,
                  optimizer_options={"momentum": 0.9},
                  validation=(X_val, y_val), early_stopping=8, seed=0)
print(f"{len(history.train_cost)} epochs; best validation cost at epoch {history.best_epoch + 1} "
      f"(stopped early: {history.stopped_early})")

# %%
# Evaluate on the test rows
# -------------------------
predicted = net.predict(ds.X_test)
accuracy = float((predicted == ds.y_test).mean())
cm = np.zeros((10, 10), dtype=int)
np.add.at(cm, (ds.y_test, predicted), 1)  # rows: true class, columns: predicted
print(f"test accuracy {accuracy:.4f}, test cost {net.cost(ds.X_test, ds.y_test):.4f}")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.8))
ax1.plot(history.train_cost, label="training")
ax1.plot(history.val_cost, label="validation")
ax1.axvline(history.best_epoch, color="grey", ls="--", lw=1, label="weights kept")
ax1.set_xlabel("epoch")
ax1.set_ylabel("cost C")
ax1.set_yscale("log")
ax1.legend(fontsize=8)
ax2.imshow(cm, cmap="Blues")
for (i, j), n in np.ndenumerate(cm):
    if n:
        ax2.text(j, i, n, ha="center", va="center", fontsize=7, color="white" if n > cm.max() / 2 else "black")
ax2.set_xlabel("predicted")
ax2.set_ylabel("true")
ax2.set_xticks(range(10))
ax2.set_yticks(range(10))
ax2.set_title(f"test set: {accuracy:.1%} right", fontsize=10)
fig.tight_layout()

# %%
# Save, load, export
# ------------------
# :meth:`deltaprop.Network.save` writes safetensors (weights, architecture, scaling and classes);
# :func:`deltaprop.load` reads it back exactly. :func:`deltaprop.export.to_onnx` writes the forward
# pass as standard ONNX operators, with the input scaling in the file's metadata.
workdir = Path(tempfile.mkdtemp())
net.save(workdir / "digits.safetensors")
same = dp.load(workdir / "digits.safetensors")
print("load(save(net)) gives the same weights:",
      all(np.array_equal(a, b) for a, b in zip(net.weights, same.weights)))
to_onnx(same, workdir / "digits.onnx")
print("ONNX file:", (workdir / "digits.onnx").stat().st_size, "bytes")

# %%
# Serve with onnxruntime
# ----------------------
# The service needs only the ``.onnx`` file, onnxruntime and NumPy. It applies the scaling stored
# in the file to raw rows (here: pixel values 0..16), runs the session, and answers with a label
# and the class probabilities.


class DigitService:
    """A minimal prediction service around one ONNX file."""

    def __init__(self, path):
        model = onnx.load(path)
        props = {p.key: p.value for p in model.metadata_props}
        self.scaling = Scaling.from_json(json.loads(props["deltaprop.scaling"]))
        self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def predict(self, raw_rows):
        X = self.scaling.apply(np.asarray(raw_rows, dtype=np.float64)).astype(np.float32)  # (m, 64)
        probs = self.session.run(["output"], {"input": X})[0]  # (m, 10)
        return [{"label": int(p.argmax()), "probability": round(float(p.max()), 4)} for p in probs]


service = DigitService(workdir / "digits.onnx")
raw = ds.X_test[:5] * 16  # what a client sends: unscaled pixels
print(service.predict(raw))

# %%
# The runtime and deltaprop agree, and the service is fast.
probs_onnx = service.session.run(["output"], {"input": ds.X_test.astype(np.float32)})[0]
print(f"max |onnxruntime - deltaprop| over the test set: {np.abs(probs_onnx - net.forward(ds.X_test)).max():.1e}")
start = time.perf_counter()
for _ in range(200):
    service.predict(raw[:1])
print(f"one request: about {(time.perf_counter() - start) / 200 * 1e6:.0f} microseconds")

fig, axes = plt.subplots(1, 5, figsize=(8, 2))
for ax, row, answer in zip(axes, raw, service.predict(raw)):
    ax.imshow(row.reshape(8, 8), cmap="gray_r")
    ax.set_title(f"{answer['label']} ({answer['probability']:.0%})", fontsize=9)
    ax.set_axis_off()
fig.suptitle("answers of the ONNX service", fontsize=10)
fig.tight_layout()
