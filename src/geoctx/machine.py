"""What decides whether two runs are bit-identical: the machine's platform.

TensorFlow's matrix products run in oneDNN kernels chosen at run time for
the processor's instruction set (ISA), numpy's in OpenBLAS kernels chosen
likewise; a sum taken in another order rounds differently. So the same
code, config and seed give the same bits only on a processor of the same
ISA level with the same libraries. :func:`platform_record` records what
decides it; ``study_config.json`` holds the record under
:data:`PLATFORM_KEY` and ``fingerprint.txt`` lists it below the
fingerprint.

The record sits *beside* the fingerprint, never inside its hash: the
fingerprint is the content of the results, so two machines that do produce
the same bits (the same ISA level, or a pinned one) share it, and a rerun
on the cited machine matches whatever its hostname, kernel patch level or
CPU stepping. The record explains a mismatch
(``python -m geoctx.fingerprint --check``); ``python -m geoctx.replicate``
then says whether the conclusions replicate.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
from collections.abc import Mapping

#: The key of ``study_config.json`` that holds the platform record.
PLATFORM_KEY = "platform"

#: oneDNN's ISA levels (the values of ``ONEDNN_MAX_CPU_ISA``), lowest first,
#: each with the /proc/cpuinfo flags it needs.
ONEDNN_ISAS = (
    ("SSE41", {"sse4_1"}),
    ("AVX", {"avx"}),
    ("AVX2", {"avx2", "fma"}),
    ("AVX2_VNNI", {"avx2", "fma", "avx_vnni"}),
    ("AVX512_CORE", {"avx512f", "avx512bw", "avx512vl", "avx512dq"}),
    (
        "AVX512_CORE_VNNI",
        {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"},
    ),
    (
        "AVX512_CORE_BF16",
        {"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"},
    ),
    (
        "AVX512_CORE_AMX",
        {
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512dq",
            "avx512_vnni",
            "avx512_bf16",
            "amx_tile",
            "amx_int8",
            "amx_bf16",
        },
    ),
)

#: Fields of the record that decide bit-identity (the rest describe).
DECISIVE = (
    "cpu_isa",
    "onednn_isa",
    "blas",
    "tensorflow",
    "numpy",
    "os",
    "machine",
)


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str] | None:
    """The CPU's feature flags, or None where there is no /proc/cpuinfo."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return None


def cpu_isa(flags: frozenset[str] | None) -> str:
    """The highest oneDNN ISA level the flags allow; the machine's
    architecture (e.g. ``arm64``) when there are none or none is x86.

    >>> cpu_isa(frozenset({"sse4_1", "avx", "avx2", "fma"}))
    'AVX2'
    >>> cpu_isa(frozenset({"fp", "asimd"})).endswith("(no x86 ISA)")
    True
    """
    if flags:
        levels = [name for name, needs in ONEDNN_ISAS if needs <= flags]
        if levels:
            return levels[-1]
        return f"{platform.machine()} (no x86 ISA)"
    return platform.machine() or "unknown"


def onednn_isa(flags: frozenset[str] | None, env: Mapping[str, str]) -> str:
    """The oneDNN ISA in effect: ``off`` when ``TF_ENABLE_ONEDNN_OPTS`` is
    0, else the highest level the CPU has at or below ``ONEDNN_MAX_CPU_ISA``.

    >>> flags = frozenset({"sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw",
    ...                    "avx512vl", "avx512dq"})
    >>> onednn_isa(flags, {})
    'AVX512_CORE'
    >>> onednn_isa(flags, {"ONEDNN_MAX_CPU_ISA": "avx2_vnni"})
    'AVX2 (capped at AVX2_VNNI)'
    >>> onednn_isa(flags, {"TF_ENABLE_ONEDNN_OPTS": "0"})
    'off'
    """
    if env.get("TF_ENABLE_ONEDNN_OPTS", "").strip().lower() in ("0", "false"):
        return "off"
    cap = env.get("ONEDNN_MAX_CPU_ISA", "").strip().upper()
    names = [name for name, _ in ONEDNN_ISAS]
    if not flags or not any(needs <= flags for _, needs in ONEDNN_ISAS):
        return f"not x86 (cap {cap})" if cap else "not x86"
    if cap and cap not in names and cap != "ALL":
        return f"{cpu_isa(flags)} (cap {cap} not known here)"
    top = names.index(cap) if cap in names else len(names) - 1
    have = [name for name, needs in ONEDNN_ISAS[: top + 1] if needs <= flags]
    level = have[-1] if have else "none"
    return f"{level} (capped at {cap})" if level != cpu_isa(flags) else level


def blas() -> str:
    """numpy's and scipy's BLAS: library, version and the kernel core each chose."""
    # load both, so the record does not depend on what this process imported
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401

    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    found = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return "; ".join(sorted(set(found))) or "unknown"


def _version(*names: str) -> str:
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def platform_record(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """What decides bit-identity on this machine, as plain strings.

    ``cpu_isa`` is the highest oneDNN ISA level of the processor (from
    /proc/cpuinfo's flags; the architecture elsewhere), ``onednn_isa`` the
    level TensorFlow's oneDNN kernels use under ``env`` (default: this
    process's environment), with the two variables that set it as found.
    Importing TensorFlow is not needed.
    """
    import numpy

    from geoctx.tables import cpu_name

    env = os.environ if env is None else env
    flags = cpu_flags()
    return {
        "cpu": cpu_name(),
        "cpu_isa": cpu_isa(flags),
        "onednn_isa": onednn_isa(flags, env),
        "ONEDNN_MAX_CPU_ISA": env.get("ONEDNN_MAX_CPU_ISA", "(unset)"),
        "TF_ENABLE_ONEDNN_OPTS": env.get("TF_ENABLE_ONEDNN_OPTS", "(unset)"),
        "tensorflow": _version("tensorflow-cpu", "tensorflow"),
        "keras": _version("keras"),
        "numpy": numpy.__version__,
        "blas": blas(),
        "os": platform.system(),
        "os_release": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
    }


def decisive_differences(a: Mapping, b: Mapping) -> list[str]:
    """The :data:`DECISIVE` fields on which two records differ, as
    ``field: a → b``; a field one record lacks is not compared."""
    return [
        f"{k}: {a[k]} → {b[k]}"
        for k in DECISIVE
        if k in a and k in b and str(a[k]) != str(b[k])
    ]
