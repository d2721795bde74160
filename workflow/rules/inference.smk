# One job per depth x width cell (and one for the activation op alone,
# w0_d0) and timing run: every activation of a cell is timed in one
# process, interleaved in random order over blocks, so the per-block ratios
# are free of machine drift; `inference.runs` fresh processes per cell, at
# different moments, are the replicates of its timing. A cell rather than
# the whole grid per job: a job stays short, and a new depth, width or run
# adds jobs instead of retiming the grid.
rule benchmark_inference:
    output:
        "results/inference/w{width}_d{depth}_r{run}.parquet",
    log:
        "logs/benchmark_inference/w{width}_d{depth}_r{run}.log",
    benchmark:
        "benchmarks/rules/benchmark_inference/w{width}_d{depth}_r{run}.tsv"
    wildcard_constraints:
        width=r"\d+",
        depth=r"\d+",
        run=r"\d+",
    retries: 2
    conda:
        ENV
    # all cores: Snakemake starts no other job while it times (the timed code
    # uses one thread); programs outside this run are not kept off the machine
    threads: machine_cores()
    resources:
        mem_mb=job_mem_mb("benchmark_inference"),
        runtime=job_runtime("benchmark_inference"),
    # what it times: a change to any of them retimes the cell (Snakemake's
    # params trigger); a new seed or model changes none of them
    params:
        code=code_digest("benchmark_inference"),
        activations=config["activations"],
        settings=inference_settings(),
    script:
        "../../scripts/benchmark_inference.py"
