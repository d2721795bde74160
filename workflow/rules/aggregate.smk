rule aggregate_table:
    input:
        parts=table_inputs,
    output:
        report(
            "results/tables/{table}.parquet",
            caption="../report/table.rst",
            category=lambda wildcards: TABLE_CATEGORIES[wildcards.table],
        ),
    log:
        "logs/aggregate_table/{table}.log",
    benchmark:
        "benchmarks/rules/aggregate_table/{table}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("aggregate_table"),
        runtime=job_runtime("aggregate_table"),
    params:
        code=code_digest("aggregate_table"),
        config_sha256=lambda wildcards: config_hash(config, TABLE_KEYS[wildcards.table]),
    script:
        "../../scripts/aggregate_table.py"
