# geoctx: how activation functions preserve or destroy data geometry through depth.
#
# results/
# ├── data/{dataset}/s{seed}/          data.npz (splits, probe), meta.json
# ├── tuning/{dataset}/{activation}/{initializer}/w{width}_d{depth}/tuning.parquet
# ├── models/{model}/   ({model} = {dataset}/{activation}/{initializer}/w{width}_d{depth}_s{seed})
# │       model.keras, init.keras, runs|history|units.parquet,
# │       representations.npz
# ├── geometry/{model}/                geometry.parquet, jacobians.parquet
# ├── robustness/{model}/              robustness.parquet
# ├── inference/w{width}_d{depth}_r{run}.parquet   one cell's timing run
# ├── tables/                          runs, history, units, geometry, robustness,
# │                                    inference, tuning, claims (.parquet)
# ├── figures/                         .png/.svg of every figure in the report
# └── report/                          report.html, report.pdf, fingerprint.txt,
#                                      CITATION.bib, study_config.json
# logs/<rule>/... mirrors results/; benchmarks/rules/<rule>/... holds job benchmarks.


from snakemake.utils import min_version

min_version("9.0")


# The default study only when the user names none: `--configfile my.yaml` is
# then the whole config, here and in every job a cluster executor spawns
# (those are passed the user's files but never read profiles).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    dataset=alternatives(config["datasets"]),
    activation=alternatives(config["activations"]),
    initializer=alternatives(config["initializers"]),
    width=r"\d+",
    depth=r"\d+",
    seed=r"\d+",
    table=alternatives(TABLE_KEYS),
    attack=alternatives(ATTACKS),
    metric=alternatives(GEOMETRY_METRICS),


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/inference.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        expand("results/tables/{table}.parquet", table=TABLE_KEYS),
        FIGURES,
        "results/report/report.html",
        "results/report/report.pdf",
