"""Every config and profile the project ships plans without error.

A config that the schema refuses, or a profile that Snakemake cannot read,
is found here before a user meets it: each config in ``config/`` and
``tests/config/`` is planned (``snakemake -n``) under each profile in
``profiles/``. The lists are globbed, so a new file is covered without an
edit here.

The fast tests plan each config's first dataset only: reading the
Snakefile validates the whole config, and one target keeps the planning
short however large the sweep. Planning every job of a config is a slow
test, which prints what it cost; the 57,600-model sweep of
``config/full.yaml`` (minutes and gigabytes) is left to the command README
gives with its figures for cluster login nodes.
"""

import re
import resource
import subprocess
import sys
import time

import pytest
import yaml
from smoke_study import ROOT, copy_workflow

from geoctx.config import LOW_DIMENSIONAL

CONFIGS = sorted(
    str(path.relative_to(ROOT))
    for pattern in ("config/*.yaml", "tests/config/*.yaml")
    for path in ROOT.glob(pattern)
)
PROFILES = [
    "none",
    *sorted(
        str(p.parent.relative_to(ROOT)) for p in ROOT.glob("profiles/*/config.yaml")
    ),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("shipped"))


def plan(workdir, configfile, profile, *targets):
    """``snakemake -n`` of ``targets`` (all when none); the finished process."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        *targets,
        "-n",
        "--quiet",
        "rules",
        "--cores",
        "2",
        "--workflow-profile",
        profile,
        "--configfile",
        configfile,
    ]
    return subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)


def first_dataset(configfile):
    """The data of the config's first dataset and seed (its own split, or the
    shared one)."""
    config = yaml.safe_load((ROOT / configfile).read_text())
    per_seed = (config.get("splits") or {}).get("per_seed", True)
    split = f"s{config['seeds'][0]}" if per_seed else "shared"
    return f"results/data/{next(iter(config['datasets']))}/{split}/meta.json"


def test_every_config_and_profile_is_found():
    assert "config/config.yaml" in CONFIGS
    assert "config/full.yaml" in CONFIGS
    assert "tests/config/smoke.yaml" in CONFIGS
    assert {"profiles/default", "profiles/slurm"} <= set(PROFILES)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("configfile", CONFIGS)
def test_shipped_config_plans_under_every_profile(workdir, configfile, profile):
    proc = plan(workdir, configfile, profile, first_dataset(configfile))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "make_dataset" in proc.stdout + proc.stderr


def test_smoke_study_plans_every_job(workdir):
    proc = plan(workdir, "tests/config/smoke.yaml", "none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"train_model\s+8\b", proc.stdout + proc.stderr)


#: Planning more models than this takes minutes and gigabytes (config/full.yaml:
#: 234 s of CPU, 3.0 GB); README gives the command that measures it.
MAX_PLANNED_MODELS = 5_000


def n_models(configfile):
    config = yaml.safe_load((ROOT / configfile).read_text())
    n = len(config["datasets"]) * len(config.get("initializers", ["auto"]))
    for key in ("activations", "widths", "depths", "seeds"):
        n *= len(config[key])
    return n


@pytest.mark.slow
@pytest.mark.parametrize("configfile", CONFIGS)
def test_shipped_config_plans_every_job(workdir, configfile):
    if n_models(configfile) > MAX_PLANNED_MODELS:
        pytest.skip(f"{configfile}: {n_models(configfile)} models, planned by hand")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    # without the Slurm profile: a dry run simulates every job's end, and
    # with the profile's groups Snakemake's simulation is quadratic in the
    # jobs (over 15 minutes of CPU for config/full.yaml; README says so)
    proc = plan(workdir, configfile, "none")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    # ru_maxrss of children is the largest child so far: an upper bound here
    print(
        f"\n{configfile}: planned in {time.perf_counter() - start:.1f} s wall, "
        f"{cpu:.1f} s CPU, max RSS <= {after.ru_maxrss / 1024:.0f} MB"
    )


def test_every_rule_has_a_slurm_group_or_is_meant_to_run_alone():
    # a new rule left out of the profile's groups becomes one Slurm job per
    # job: thousands on the full sweep
    rules = {
        name
        for path in ROOT.glob("workflow/rules/*.smk")
        for name in re.findall(r"^rule (\w+):", path.read_text(), flags=re.M)
    }
    # a local rule runs in the Snakemake process, never as a Slurm job
    local = {
        name
        for path in ROOT.glob("workflow/rules/*.smk")
        for name in re.findall(
            r"^rule (\w+):\n(?:    .*\n|\n)*?    localrule: True$",
            path.read_text(),
            flags=re.M,
        )
    }
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    grouped = {entry.split("=")[0] for entry in profile["groups"]}
    components = {entry.split("=")[0] for entry in profile["group-components"]}
    groups = {entry.split("=")[1] for entry in profile["groups"]}
    # data jobs are few (timing jobs share exclusive jobs: group `timing`)
    alone = {"make_dataset"}
    assert local == set()
    assert rules - grouped - local == alone
    assert grouped <= rules
    assert groups == components


#: What config/full.yaml may set otherwise than the default study (its header
#: comment says the same): the grid, the text, the datasets, timing and PGD.
FULL_SWEEP_DIFFERS = (
    "study.",
    "datasets.",
    "inference.",
    "activations",
    "initializers",
    "depths",
    "widths",
    "seeds",
    "robustness.pgd_steps",
    "robustness.pgd_restarts",
)


def test_full_sweep_is_the_default_study_but_for_its_grid():
    from geoctx.replicate.compare import mapping_diff

    default = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    full = yaml.safe_load((ROOT / "config/full.yaml").read_text())
    differ = set(mapping_diff(default, full).key)
    assert {k for k in differ if not k.startswith(FULL_SWEEP_DIFFERS)} == set()


def readme_number(pattern):
    """The number(s) README's text gives where ``pattern`` matches."""
    text = " ".join((ROOT / "README.md").read_text().split())
    match = re.search(pattern, text)
    assert match, f"README no longer says {pattern!r}"
    return [int(group.replace(",", "")) for group in match.groups()]


@pytest.mark.slow
def test_readme_full_sweep_figures_match_its_config(workdir):
    # README's cluster cost of config/full.yaml, from a plan of its first
    # dataset and seed (its timings are the whole sweep's; the rest scales
    # with datasets and seeds) and the Slurm profile's group sizes
    full = yaml.safe_load((ROOT / "config/full.yaml").read_text())
    n_datasets, n_seeds = len(full["datasets"]), len(full["seeds"])
    first = next(iter(full["datasets"]))
    reduced = {**full, "datasets": {first: full["datasets"][first]}}
    reduced["seeds"] = full["seeds"][:1]
    (workdir / "reduced.yaml").write_text(yaml.safe_dump(reduced))
    proc = plan(workdir, "reduced.yaml", "none")
    assert proc.returncode == 0, proc.stderr[-3000:]
    planned = {
        rule: int(n)
        for rule, n in re.findall(r"^(\w+)\s+(\d+)$", proc.stdout, flags=re.M)
    }
    splits = {*full["seeds"], full["tuning"]["seeds"][0]}
    sweep = {
        "train_model": planned["train_model"] * n_datasets * n_seeds,
        "evaluate_models": planned["evaluate_models"] * n_datasets * n_seeds,
        "tune_learning_rate": planned["tune_learning_rate"] * n_datasets,
        "make_dataset": n_datasets * len(splits),
        "benchmark_inference": planned["benchmark_inference"],
    }
    # one split per seed and the tuning seed's: the first seed's and its
    assert planned["make_dataset"] == len(
        {full["seeds"][0], full["tuning"]["seeds"][0]}
    )
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    default_runs = schema["properties"]["inference"]["properties"]["runs"]["default"]
    runs = full["inference"].get("runs", default_runs)
    assert readme_number(
        r"([\d,]+) trainings, ([\d,]+) evaluations \(one per cell\), ([\d,]+) "
        r"learning-rate tunings \(one per architecture\), (\d+) data splits .*?, "
        r"(\d+) inference timings \((\d+) cells × (\d+) runs\)"
    ) == [
        sweep["train_model"],
        sweep["evaluate_models"],
        sweep["tune_learning_rate"],
        sweep["make_dataset"],
        sweep["benchmark_inference"],
        sweep["benchmark_inference"] // runs,
        runs,
    ]
    # the total: these, a projection figure per low-dimensional dataset and
    # the summary's jobs, planned once whatever the grid
    projected = sum(
        params.get("generator", name) in LOW_DIMENSIONAL
        for name, params in full["datasets"].items()
    )
    assert planned["plot_projections"] == 1  # the first dataset's
    summary = planned["total"] - sum(planned[rule] for rule in sweep) - 1
    assert readme_number(r"that is ([\d,]+) jobs:") == [
        sum(sweep.values()) + projected + summary
    ]
    profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    size = dict(entry.split("=") for entry in profile["group-components"])
    slurm = {
        # a `model` component is a cell: its trainings and its evaluation
        "model": -(-sweep["evaluate_models"] // int(size["model"])),
        "tune": -(-sweep["tune_learning_rate"] // int(size["tune"])),
        "timing": -(-sweep["benchmark_inference"] // int(size["timing"])),
    }
    total = sum(slurm.values()) + sweep["make_dataset"] + 1  # and the summary
    assert int(size["model"]) == 4  # README: "of four cells each"
    assert readme_number(
        r"about ([\d,]+) Slurm jobs: ([\d,]+) `model` jobs of four cells each, "
        r"(\d+) `tune` jobs of (\d+) architectures each, (\d+) data jobs, (\d+) "
        r"exclusive `timing` jobs \((\d+) of the (\d+) timings each\)"
    ) == [
        round(total, -2),
        slurm["model"],
        slurm["tune"],
        int(size["tune"]),
        sweep["make_dataset"],
        slurm["timing"],
        int(size["timing"]),
        sweep["benchmark_inference"],
    ]
