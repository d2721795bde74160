"""Can the PGD attacks of one model share their gradient calls bit for bit?

For each model of the given cells (``dataset/initializer/w<width>_d<depth>_s<seed>``)
of a finished study, on one thread, with the cell's test points (plus a
little noise) as inputs: four blocks of rows, one per PGD attack, of sizes
``--sizes`` (the rows still attacked at one step: at most 5 restarts x 256
probe points, fewer once points are fooled; by default 1279, 1117, 203 and
7), the two cross-entropy attacks' blocks first, then the two margin
attacks'. It
compares each block's logits and input gradient from its own call (what
every PGD step computes today) with

- ``concatenated``: every block's rows in one call per loss (the rows of the
  attacks on one loss stacked, as one call over more rows would be), and
- ``side by side``: one ``tf.function`` that calls the package's compiled
  single-loss function once per block (one call for all four attacks, each
  block through the same graph on the same shape as alone),

and prints, per model, the rows whose bits differ from the separate calls
(of the logits or of the gradient), the CPU milliseconds per PGD step of
each way (the median of ``--repeats`` steps), the CPU seconds of the first
call of the two single-loss functions (tracing and graph optimisation)
and of the side-by-side function after them (its one-time cost per model
architecture and process), and the PGD steps the side-by-side function
takes to pay that back (a model's evaluation makes about 80: 4 radii x 20
steps).

    python benchmarks/gradient_batching.py STUDY_DIR CELL [CELL ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

LOSSES = ("cross_entropy", "cross_entropy", "margin", "margin")


def _side_by_side(model, losses):
    """One function calling the package's compiled single-loss gradient
    function once per block: one call for all blocks, each block's rows
    through the same graph as alone."""
    import tensorflow as tf

    from geoctx import autodiff

    single = {
        loss: autodiff._compiled(
            model,
            f"gradient_{loss}",
            lambda loss=loss: autodiff._builders()["gradient"](model, loss),
        )
        for loss in set(losses)
    }
    spec = [
        tf.TensorSpec([None, autodiff._input_dim(model)], tf.float32),
        tf.TensorSpec([None], tf.int32),
    ]

    @tf.function(input_signature=spec * len(losses), autograph=False)
    def steps(*arrays):
        out = []
        for k, loss in enumerate(losses):
            out += single[loss](arrays[2 * k], arrays[2 * k + 1])
        return out

    return steps


def _differing_rows(expected, found):
    """Rows of ``found`` (logits, gradient) whose bits differ from ``expected``."""
    import numpy as np

    rows = np.zeros(len(expected[0]), dtype=bool)
    for a, b in zip(expected, found, strict=True):
        rows |= (np.asarray(a).view(np.uint32) != np.asarray(b).view(np.uint32)).any(1)
    return int(rows.sum())


def _cpu_ms(run, repeats):
    import numpy as np

    times = []
    for _ in range(repeats):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return 1e3 * float(np.median(times))


def measure(model, x, y, sizes, repeats):
    import numpy as np

    from geoctx import autodiff

    rng = np.random.default_rng(0)
    blocks = []
    for size in sizes:
        take = rng.integers(0, len(x), size)
        noise = rng.normal(scale=0.1, size=(size, x.shape[1]))
        blocks.append(((x[take] + noise).astype(np.float32), y[take]))

    def separate():
        return [
            autodiff.logits_and_input_gradient(
                model, bx, by, loss=loss, batch_size=8192
            )
            for (bx, by), loss in zip(blocks, LOSSES, strict=True)
        ]

    def concatenated():
        out = []
        for loss in dict.fromkeys(LOSSES):
            mine = [b for b, name in zip(blocks, LOSSES, strict=True) if name == loss]
            logits, gradient = autodiff.logits_and_input_gradient(
                model,
                np.concatenate([bx for bx, _ in mine]),
                np.concatenate([by for _, by in mine]),
                loss=loss,
                batch_size=8192,
            )
            ends = np.cumsum([len(by) for _, by in mine])[:-1]
            out += zip(np.split(logits, ends), np.split(gradient, ends), strict=True)
        return out

    first = {}
    start = time.process_time()
    for loss in dict.fromkeys(LOSSES):
        autodiff.logits_and_input_gradient(model, *blocks[0], loss=loss)
    first["single_losses"] = time.process_time() - start
    steps = _side_by_side(model, LOSSES)
    arrays = [a for block in blocks for a in block]
    start = time.process_time()
    steps(*arrays)
    first["side_by_side"] = time.process_time() - start

    def side_by_side():
        out = [np.asarray(t) for t in steps(*arrays)]
        return list(zip(out[::2], out[1::2], strict=True))

    expected = separate()
    differing = {}
    for name, way in (("concatenated", concatenated), ("side_by_side", side_by_side)):
        differing[name] = [
            _differing_rows(e, f) for e, f in zip(expected, way(), strict=True)
        ]
    cpu = {
        name: _cpu_ms(way, repeats)
        for name, way in (
            ("separate", separate),
            ("concatenated", concatenated),
            ("side_by_side", side_by_side),
        )
    }
    return differing, cpu, first


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("cells", nargs="+")
    parser.add_argument("--sizes", type=int, nargs=4, default=[1279, 1117, 203, 7])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import yaml

    from geoctx.training import configure_backend

    configure_backend(threads=1, seed=0)
    config = yaml.safe_load((args.study / "config" / "config.yaml").read_text())
    print(f"rows per block: {args.sizes}, losses {LOSSES}")
    for cell in args.cells:
        dataset, initializer, name = cell.split("/")
        seed = name.split("_")[-1]
        data = np.load(args.study / "results/data" / dataset / seed / "data.npz")
        x, y = data["X_test"].astype(np.float32), data["y_test"].astype(np.int32)
        for activation in config["activations"]:
            path = (
                args.study
                / "results/models"
                / dataset
                / activation
                / initializer
                / name
                / "model.keras"
            )
            model = keras.saving.load_model(path)
            differing, cpu, first = measure(model, x, y, args.sizes, args.repeats)
            saving = (cpu["separate"] - cpu["side_by_side"]) / 1e3
            print(
                f"{cell} {activation}: rows differing per block: concatenated "
                f"{differing['concatenated']}, side by side "
                f"{differing['side_by_side']}; CPU ms per step: "
                + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
                + f"; first call s: single losses {first['single_losses']:.2f}, "
                f"side by side {first['side_by_side']:.2f}; side by side pays "
                f"back after {first['side_by_side'] / saving:.0f} steps",
                flush=True,
            )


if __name__ == "__main__":
    main()
