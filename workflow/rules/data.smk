rule make_dataset:
    output:
        data="results/data/{dataset}/data.npz",
        meta="results/data/{dataset}/meta.json",
    log:
        "logs/make_dataset/{dataset}.log",
    benchmark:
        "benchmarks/rules/make_dataset/{dataset}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("make_dataset"),
        runtime=job_runtime("make_dataset"),
    params:
        code=code_digest("make_dataset"),
        spec=lambda wildcards: dataset_params(config, wildcards.dataset),
    script:
        "../../scripts/make_dataset.py"
