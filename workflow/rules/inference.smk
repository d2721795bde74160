# One job per depth x width cell (and one for the activation op alone,
# w0_d0): every activation of a cell is timed in one process, interleaved in
# random order over blocks, so the per-block ratios are free of machine
# drift. A cell rather than the whole grid per job: a job stays short, and
# a new depth or width adds jobs instead of retiming the grid.
rule benchmark_inference:
    output:
        "results/inference/w{width}_d{depth}.parquet",
    log:
        "logs/benchmark_inference/w{width}_d{depth}.log",
    benchmark:
        "benchmarks/rules/benchmark_inference/w{width}_d{depth}.tsv"
    wildcard_constraints:
        width=r"\d+",
        depth=r"\d+",
    retries: 2
    conda:
        ENV
    # all cores: nothing else runs while it times (the timed code uses one thread)
    threads: machine_cores()
    resources:
        mem_mb=job_mem_mb("benchmark_inference"),
        runtime=job_runtime("benchmark_inference"),
    params:
        code=code_digest("benchmark_inference"),
        activations=config["activations"],
        settings=inference_settings(),
    script:
        "../../scripts/benchmark_inference.py"
