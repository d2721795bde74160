rule tune_learning_rate:
    input:
        data=tuning_data,
    output:
        tuning=f"results/tuning/{ARCHITECTURE}/tuning.parquet",
        curves=f"results/tuning/{ARCHITECTURE}/tuning_history.parquet",
    log:
        f"logs/tune_learning_rate/{ARCHITECTURE}.log",
    benchmark:
        f"benchmarks/rules/tune_learning_rate/{ARCHITECTURE}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("tune_learning_rate"),
        runtime=job_runtime("tune_learning_rate"),
    params:
        code=code_digest("tune_learning_rate"),
        training=config["training"],
        tuning=config["tuning"],
    script:
        "../../scripts/tune_learning_rate.py"


rule train_model:
    input:
        data=model_data,
        tuning=f"results/tuning/{ARCHITECTURE}/tuning.parquet",
    output:
        model=f"results/models/{MODEL}/model.keras",
        init_model=f"results/models/{MODEL}/init.keras",
        run=f"results/models/{MODEL}/runs.parquet",
        history=f"results/models/{MODEL}/history.parquet",
        units=f"results/models/{MODEL}/units.parquet",
        representations=f"results/models/{MODEL}/representations.npz",
    log:
        f"logs/train_model/{MODEL}.log",
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("train_model"),
        runtime=job_runtime("train_model"),
    params:
        code=code_digest("train_model"),
        training=config["training"],
    script:
        "../../scripts/train_model.py"


# The study seeds that fall short of their cell's best at the chosen rate,
# for activations that are seed-dependent or trail on held-out data only there
# (geoctx.trailing), trained again at every other rate of the grid (but one a
# run that failed to learn at the chosen rate was kept at): does the seed fail
# at every rate?
rule retry_trailing_seeds:
    input:
        runs="results/tables/runs.parquet",
        tuning="results/tables/tuning.parquet",
        data=list(dict.fromkeys(study_splits().values())),
    output:
        retrials="results/tables/retrials.parquet",
        curves="results/tables/retrial_history.parquet",
    log:
        "logs/retry_trailing_seeds.log",
    benchmark:
        "benchmarks/rules/retry_trailing_seeds/retrials.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("retry_trailing_seeds"),
        runtime=job_runtime("retry_trailing_seeds"),
    params:
        code=code_digest("retry_trailing_seeds"),
        training=config["training"],
        data=study_splits(),
        # it retrains study models: the runs table's config keys
        config_sha256=config_hash(config, TABLE_KEYS["runs"]),
    script:
        "../../scripts/retry_trailing_seeds.py"
