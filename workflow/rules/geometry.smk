rule compute_geometry:
    input:
        representations=f"results/models/{MODEL}/representations.npz",
        data="results/data/{dataset}/data.npz",
    output:
        f"results/geometry/{MODEL}/geometry.parquet",
    log:
        f"logs/compute_geometry/{MODEL}.log",
    benchmark:
        f"benchmarks/rules/compute_geometry/{MODEL}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("compute_geometry"),
        runtime=job_runtime("compute_geometry"),
    params:
        code=code_digest("geometry", "datasets", "tables"),
        settings=geometry_settings("geometry"),
    script:
        "../../scripts/compute_geometry.py"


rule compute_jacobians:
    input:
        model=f"results/models/{MODEL}/model.keras",
        init_model=f"results/models/{MODEL}/init.keras",
        representations=f"results/models/{MODEL}/representations.npz",
    output:
        f"results/geometry/{MODEL}/jacobians.parquet",
    log:
        f"logs/compute_jacobians/{MODEL}.log",
    benchmark:
        f"benchmarks/rules/compute_jacobians/{MODEL}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("compute_jacobians"),
        runtime=job_runtime("compute_jacobians"),
    params:
        code=code_digest("geometry", "autodiff", "training", "models", "tables"),
        settings=geometry_settings("jacobians"),
    script:
        "../../scripts/compute_jacobians.py"
