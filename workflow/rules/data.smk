rule make_dataset:
    input:
        code=package("datasets"),
    output:
        data="results/data/{dataset}/data.npz",
        meta="results/data/{dataset}/meta.json",
    log:
        "logs/make_dataset/{dataset}.log",
    conda:
        ENV
    params:
        spec=lambda wildcards: dataset_params(config, wildcards.dataset),
    script:
        "../../scripts/make_dataset.py"
