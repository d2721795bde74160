"""Which settings make a trained model bit-identical across CPU instruction sets.

Trains one model through the package API (spirals, tanh, width 64, depth 4,
seed 0, a fixed number of epochs, one thread) in a fresh process under each
setting of the oneDNN instruction-set cap (``ONEDNN_MAX_CPU_ISA``), oneDNN
switched off (``TF_ENABLE_ONEDNN_OPTS=0``), OpenBLAS's kernel pinned
(``OPENBLAS_CORETYPE``) and the thread count, and prints one row per
setting: the SHA-256 of the trained weights, of the data split, the test
accuracy, the kernels oneDNN reported (``ONEDNN_VERBOSE``) and the CPU
seconds of training (minimum over ``--repeats`` processes).

One machine can only emulate another processor: a cap lower than the
machine's ISA makes oneDNN dispatch the kernels a machine of that level
would, but its blocking still follows this machine's caches. Settings that
agree with each other under different caps and thread counts are the
candidates for portable bits. A second table does the same for numpy's
BLAS (OpenBLAS picks its kernel core by CPU too; the geometry metrics'
distances and products run in it): the digest of a float32 and a float64
matrix product under each ``OPENBLAS_CORETYPE``. The last line is the
CPU-time ratio of the pinned setting (``--pinned``) to the default.

    python benchmarks/isa_bits.py [--epochs 20] [--repeats 2] [--pinned AVX2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

#: (name, environment overrides, training threads); the default first.
SETTINGS = (
    ("default", {}, 1),
    ("default, 2 threads", {}, 2),
    ("AVX512_CORE", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, 1),
    ("AVX2_VNNI", {"ONEDNN_MAX_CPU_ISA": "AVX2_VNNI"}, 1),
    ("AVX2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 1),
    ("AVX2, 2 threads", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 2),
    (
        "AVX2 + OpenBLAS Haswell",
        {"ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"},
        1,
    ),
    ("AVX", {"ONEDNN_MAX_CPU_ISA": "AVX"}, 1),
    ("SSE41", {"ONEDNN_MAX_CPU_ISA": "SSE41"}, 1),
    ("oneDNN off", {"TF_ENABLE_ONEDNN_OPTS": "0"}, 1),
    ("oneDNN off, 2 threads", {"TF_ENABLE_ONEDNN_OPTS": "0"}, 2),
)


def train_once(epochs: int, threads: int) -> dict:
    """Train the model in this process; digests, accuracy and CPU seconds."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np

    from geoctx import datasets, training

    data, _ = datasets.make_dataset(
        {"generator": "spirals", "arms": 3},
        test_fraction=0.25,
        validation_fraction=0.2,
        probe_points=256,
    )
    data_digest = hashlib.sha256()
    for name in sorted(data):
        data_digest.update(np.ascontiguousarray(data[name]).tobytes())
    settings = training.TrainSettings(
        epochs=epochs, convergence={"window": epochs, "tolerance": 0.0}
    )
    spec = training.ModelSpec("spirals", "tanh", "auto", 64, 4, 0)
    t0 = time.process_time()
    result = training.train_model(data, spec, settings, threads=threads)
    cpu = time.process_time() - t0
    weights = hashlib.sha256()
    for array in result.model.get_weights():
        weights.update(np.ascontiguousarray(array, dtype=np.float32).tobytes())
    return {
        "weights": weights.hexdigest(),
        "data": data_digest.hexdigest(),
        "test_accuracy": float(result.run["test_accuracy"]),
        "epochs": int(result.run["epochs_run"]),
        "cpu_s": cpu,
    }


#: OpenBLAS kernel cores to compare ("" lets OpenBLAS choose for this CPU).
BLAS_CORES = ("", "Haswell", "SkylakeX", "Zen", "Sandybridge")


def blas_once() -> dict:
    """Digests of a float32 and a float64 product in numpy, and the core used."""
    import numpy as np
    from threadpoolctl import threadpool_info

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((512, 64)), rng.standard_normal((64, 512))
    digest = {
        str(dtype): hashlib.sha256((a.astype(dtype) @ b.astype(dtype)).tobytes())
        for dtype in ("float32", "float64")
    }
    cores = [i["architecture"] for i in threadpool_info() if i["user_api"] == "blas"]
    return {
        "core": " ".join(cores),
        **{k: v.hexdigest() for k, v in digest.items()},
    }


def kernels(verbose: str) -> str:
    """The ISA oneDNN reported and the implementations it created, from its log."""
    isa = re.search(r"onednn_verbose,.*?info,cpu,isa:([^\n]*)", verbose)
    impls = sorted(set(re.findall(r"create:\w+,cpu,\w+,([^,]+),", verbose)))
    found = isa.group(1).strip() if isa else "not used"
    return found + (f" [{' '.join(impls)}]" if impls else "")


def run_setting(env: dict, threads: int, epochs: int) -> dict:
    """One training in a fresh process under ``env``."""
    child = {
        **{k: v for k, v in os.environ.items() if k not in _CONTROLLED},
        **env,
        "ONEDNN_VERBOSE": "profile_create",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    proc = subprocess.run(
        [sys.executable, __file__, "--child", "--epochs", str(epochs)]
        + ["--threads", str(threads)],
        env=child,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise RuntimeError(f"training under {env} failed:\n{proc.stderr[-3000:]}")
    return {**json.loads(lines[-1]), "onednn": kernels(proc.stdout)}


#: Variables a setting controls: never inherited from the caller.
_CONTROLLED = frozenset(
    {"ONEDNN_MAX_CPU_ISA", "TF_ENABLE_ONEDNN_OPTS", "OPENBLAS_CORETYPE"}
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--pinned", default="AVX2", help="setting for the cost ratio")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--blas-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train_once(args.epochs, args.threads)))
        return
    if args.blas_child:
        print(json.dumps(blas_once()))
        return
    print(f"{'OPENBLAS_CORETYPE':<18} {'core used':<12} {'float32':<16} float64")
    for core in BLAS_CORES:
        env = {k: v for k, v in os.environ.items() if k not in _CONTROLLED}
        proc = subprocess.run(
            [sys.executable, __file__, "--blas-child"],
            env={**env, **({"OPENBLAS_CORETYPE": core} if core else {})},
            capture_output=True,
            text=True,
            check=True,
        )
        row = json.loads(proc.stdout.splitlines()[-1])
        print(
            f"{core or '(default)':<18} {row['core']:<12} {row['float32'][:16]} "
            f"{row['float64'][:16]}"
        )
    rows = {}
    print(
        f"{'setting':<26} {'weights':<16} {'data':<16} {'test acc':>8} "
        f"{'CPU s':>6}  oneDNN"
    )
    for name, env, threads in SETTINGS:
        runs = [run_setting(env, threads, args.epochs) for _ in range(args.repeats)]
        if len({r["weights"] for r in runs}) > 1:
            print(f"{name}: weights differ between repeats of the same setting")
        row = {**runs[0], "cpu_s": min(r["cpu_s"] for r in runs)}
        rows[name] = row
        print(
            f"{name:<26} {row['weights'][:16]} {row['data'][:16]} "
            f"{row['test_accuracy']:>8.4f} {row['cpu_s']:>6.2f}  {row['onednn']}",
            flush=True,
        )
    groups: dict[str, list[str]] = {}
    for name, row in rows.items():
        groups.setdefault(row["weights"], []).append(name)
    print("identical weights:")
    for digest, names in groups.items():
        print(f"  {digest[:16]}: {', '.join(names)}")
    pinned = rows[args.pinned]["cpu_s"] / rows["default"]["cpu_s"]
    print(f"{args.pinned} / default CPU time: {pinned:.2f}")


if __name__ == "__main__":
    main()
