# One job per model for its geometry, Jacobians and robustness: one process
# and one set of model loads instead of three, and half the jobs to plan. The
# tables are updated in place: each part records what it was computed from
# (geoctx.evaluation) and is recomputed only when that changed, so an attack
# setting recomputes no geometry and a geometry setting no attacks.
rule evaluate_model:
    input:
        model=f"results/models/{MODEL}/model.keras",
        init_model=f"results/models/{MODEL}/init.keras",
        run=f"results/models/{MODEL}/runs.parquet",
        representations=f"results/models/{MODEL}/representations.npz",
        data="results/data/{dataset}/data.npz",
        transfer_models=lambda wildcards: reference(wildcards, "model.keras"),
        transfer_runs=lambda wildcards: reference(wildcards, "runs.parquet"),
    output:
        geometry=update(f"results/geometry/{MODEL}/geometry.parquet"),
        jacobians=update(f"results/geometry/{MODEL}/jacobians.parquet"),
        robustness=update(f"results/robustness/{MODEL}/robustness.parquet"),
    log:
        f"logs/evaluate_model/{MODEL}.log",
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("evaluate_model"),
        runtime=job_runtime("evaluate_model"),
    params:
        geometry=part_params("geometry"),
        jacobians=part_params("jacobians"),
        robustness=robustness_params,
    script:
        "../../scripts/evaluate_model.py"
