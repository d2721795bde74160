# One job per dataset and split: {split} is s{seed} (each seed its own split
# and probe set, splits.per_seed) or "shared" (one split for every seed).
rule make_dataset:
    input:
        unpack(dataset_file),
    output:
        data="results/data/{dataset}/{split}/data.npz",
        meta="results/data/{dataset}/{split}/meta.json",
    log:
        "logs/make_dataset/{dataset}/{split}.log",
    benchmark:
        "benchmarks/rules/make_dataset/{dataset}/{split}.tsv"
    wildcard_constraints:
        split=r"s\d+|shared",
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
        split_seed=split_seed,
    script:
        "../../scripts/make_dataset.py"
