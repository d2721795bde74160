# One job per cell (a dataset, initializer, width, depth and seed) evaluates
# the cell's models, one per activation: their geometry, Jacobians and
# robustness, the transfer attacks between them included. One process and
# one job to plan per cell instead of three per model. The tables stay per
# model and are updated in place: each part of each model records what it
# was computed from (geoctx.evaluation) and is recomputed only when that
# changed, so an attack setting recomputes no geometry, a geometry setting
# no attacks, and a new activation evaluates only its own models.
rule evaluate_models:
    input:
        model=per_activation(f"results/models/{MODEL}/model.keras"),
        init_model=per_activation(f"results/models/{MODEL}/init.keras"),
        run=per_activation(f"results/models/{MODEL}/runs.parquet"),
        representations=per_activation(f"results/models/{MODEL}/representations.npz"),
        data=model_data,
    output:
        geometry=update(per_activation(f"results/geometry/{MODEL}/geometry.parquet")),
        jacobians=update(per_activation(f"results/geometry/{MODEL}/jacobians.parquet")),
        robustness=update(
            per_activation(f"results/robustness/{MODEL}/robustness.parquet")
        ),
    log:
        f"logs/evaluate_models/{CELL}.log",
    # Evaluate a cell as soon as its models are trained: its results come
    # early and fewer jobs wait at once (Snakemake re-checks every waiting
    # job's inputs each time it selects jobs).
    priority: 1
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("evaluate_models"),
        runtime=job_runtime("evaluate_models", models=len(config["activations"])),
    params:
        code=code_digest("evaluate_models"),
        activations=config["activations"],
        transfer_from=config["robustness"]["transfer_from"],
        geometry=part_params("geometry"),
        jacobians=part_params("jacobians"),
        robustness=part_params("robustness"),
    script:
        "../../scripts/evaluate_models.py"
