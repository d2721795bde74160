"""The platform record: what decides bit-identity, read from the CPU flags."""

import pytest

from geoctx import machine

HASWELL = frozenset(["sse4_1", "avx", "avx2", "fma"])
SKYLAKE_X = HASWELL | {"avx512f", "avx512bw", "avx512vl", "avx512dq"}
ZEN4 = SKYLAKE_X | {"avx512_vnni", "avx512_bf16"}
SAPPHIRE_RAPIDS = ZEN4 | {"amx_tile", "amx_int8", "amx_bf16", "avx_vnni"}


@pytest.mark.parametrize(
    ("flags", "isa"),
    [
        (frozenset({"sse4_1"}), "SSE41"),
        (frozenset({"sse4_1", "avx"}), "AVX"),
        (HASWELL, "AVX2"),
        (HASWELL | {"avx_vnni"}, "AVX2_VNNI"),
        (SKYLAKE_X, "AVX512_CORE"),
        (ZEN4, "AVX512_CORE_BF16"),
        (SAPPHIRE_RAPIDS, "AVX512_CORE_AMX"),
    ],
)
def test_cpu_isa_is_the_highest_level_the_flags_allow(flags, isa):
    assert machine.cpu_isa(flags) == isa


@pytest.mark.parametrize(
    ("flags", "env", "isa"),
    [
        (ZEN4, {}, "AVX512_CORE_BF16"),
        (ZEN4, {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "AVX2 (capped at AVX2)"),
        # no avx_vnni on this CPU: oneDNN falls back to AVX2 (as measured by
        # benchmarks/isa_bits.py, whose ONEDNN_VERBOSE said "Intel AVX2")
        (ZEN4, {"ONEDNN_MAX_CPU_ISA": "avx2_vnni"}, "AVX2 (capped at AVX2_VNNI)"),
        (HASWELL, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, "AVX2"),
        (ZEN4, {"ONEDNN_MAX_CPU_ISA": "ALL"}, "AVX512_CORE_BF16"),
        (ZEN4, {"TF_ENABLE_ONEDNN_OPTS": "0"}, "off"),
        (
            ZEN4,
            {"ONEDNN_MAX_CPU_ISA": "AVX9"},
            "AVX512_CORE_BF16 (cap AVX9 not known here)",
        ),
    ],
)
def test_onednn_isa_in_effect(flags, env, isa):
    assert machine.onednn_isa(flags, env) == isa


def test_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse4_1 avx avx2 fma\n\n")
    assert machine.cpu_flags(str(cpuinfo)) == HASWELL | {"fpu"}
    assert machine.cpu_flags(str(tmp_path / "none")) is None


def test_the_record_names_what_decides_bits():
    record = machine.platform_record({"ONEDNN_MAX_CPU_ISA": "AVX2"})
    assert set(machine.DECISIVE) <= set(record)
    assert record["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert record["TF_ENABLE_ONEDNN_OPTS"] == "(unset)"
    assert all(isinstance(v, str) and v for v in record.values())


def test_decisive_differences_ignore_what_only_describes():
    a = {"cpu_isa": "AVX2", "os_release": "6.1", "cpu": "x"}
    b = {"cpu_isa": "AVX512_CORE", "os_release": "6.2", "cpu": "y"}
    assert machine.decisive_differences(a, b) == ["cpu_isa: AVX2 → AVX512_CORE"]
    assert machine.decisive_differences(a, {}) == []
