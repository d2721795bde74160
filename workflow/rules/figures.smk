rule plot_accuracy:
    input:
        runs="results/tables/runs.parquet",
    output:
        png=report(
            "results/figures/accuracy_vs_depth.png",
            caption="../report/accuracy_vs_depth.rst",
            category="Training",
        ),
        svg="results/figures/accuracy_vs_depth.svg",
    log:
        "logs/plot_accuracy.log",
    benchmark:
        "benchmarks/rules/plot_accuracy/accuracy_vs_depth.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_accuracy"),
    script:
        "../../scripts/plot_accuracy.py"


rule plot_learning_curves:
    input:
        history="results/tables/history.parquet",
    output:
        png=report(
            "results/figures/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Training",
        ),
        svg="results/figures/learning_curves.svg",
    log:
        "logs/plot_learning_curves.log",
    benchmark:
        "benchmarks/rules/plot_learning_curves/learning_curves.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_learning_curves"),
    script:
        "../../scripts/plot_learning_curves.py"


rule plot_learning_rates:
    input:
        tuning="results/tables/tuning.parquet",
    output:
        png=report(
            "results/figures/learning_rates.png",
            caption="../report/learning_rates.rst",
            category="Training",
        ),
        svg="results/figures/learning_rates.svg",
    log:
        "logs/plot_learning_rates.log",
    benchmark:
        "benchmarks/rules/plot_learning_rates/learning_rates.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_learning_rates"),
    script:
        "../../scripts/plot_learning_rates.py"


rule plot_trailing_curves:
    input:
        runs="results/tables/runs.parquet",
        history="results/tables/history.parquet",
        tuning="results/tables/tuning.parquet",
        tuning_history="results/tables/tuning_history.parquet",
        retrials="results/tables/retrials.parquet",
        retrial_history="results/tables/retrial_history.parquet",
    output:
        png=report(
            "results/figures/trailing_curves.png",
            caption="../report/trailing_curves.rst",
            category="Training",
        ),
        svg="results/figures/trailing_curves.svg",
    log:
        "logs/plot_trailing_curves.log",
    benchmark:
        "benchmarks/rules/plot_trailing_curves/trailing_curves.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_trailing_curves"),
    script:
        "../../scripts/plot_trailing_curves.py"


rule plot_grad_norms:
    input:
        units="results/tables/units.parquet",
    output:
        png=report(
            "results/figures/grad_norm_by_layer.png",
            caption="../report/grad_norm_by_layer.rst",
            category="Training",
        ),
        svg="results/figures/grad_norm_by_layer.svg",
    log:
        "logs/plot_grad_norms.log",
    benchmark:
        "benchmarks/rules/plot_grad_norms/grad_norm_by_layer.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_grad_norms"),
    script:
        "../../scripts/plot_grad_norms.py"


rule plot_robustness:
    input:
        robustness="results/tables/robustness.parquet",
    output:
        png=report(
            "results/figures/robustness_{attack}.png",
            caption="../report/robustness.rst",
            category="Robustness",
            subcategory="{attack}",
        ),
        svg="results/figures/robustness_{attack}.svg",
    log:
        "logs/plot_robustness/{attack}.log",
    benchmark:
        "benchmarks/rules/plot_robustness/{attack}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_robustness"),
    script:
        "../../scripts/plot_robustness.py"


rule plot_boundary_accuracy:
    input:
        robustness="results/tables/robustness.parquet",
    output:
        png=report(
            "results/figures/boundary_accuracy.png",
            caption="../report/boundary_accuracy.rst",
            category="Robustness",
        ),
        svg="results/figures/boundary_accuracy.svg",
    log:
        "logs/plot_boundary_accuracy.log",
    benchmark:
        "benchmarks/rules/plot_boundary_accuracy/boundary_accuracy.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_boundary_accuracy"),
    script:
        "../../scripts/plot_boundary_accuracy.py"


rule plot_latency:
    input:
        inference="results/tables/inference.parquet",
    output:
        png=report(
            "results/figures/latency_ratio.png",
            caption="../report/latency_ratio.rst",
            category="Cost",
        ),
        svg="results/figures/latency_ratio.svg",
    log:
        "logs/plot_latency.log",
    benchmark:
        "benchmarks/rules/plot_latency/latency_ratio.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_latency"),
    script:
        "../../scripts/plot_latency.py"


rule plot_geometry:
    input:
        geometry="results/tables/geometry.parquet",
    output:
        png=report(
            "results/figures/geometry_{metric}.png",
            caption="../report/geometry.rst",
            category="Geometry",
            subcategory="metric vs layer",
        ),
        svg="results/figures/geometry_{metric}.svg",
    log:
        "logs/plot_geometry/{metric}.log",
    benchmark:
        "benchmarks/rules/plot_geometry/{metric}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_geometry"),
    script:
        "../../scripts/plot_geometry.py"


rule plot_projections:
    input:
        representations=projection_inputs,
        data=projection_data,
    output:
        png=report(
            "results/figures/projections_{dataset}.png",
            caption="../report/projections.rst",
            category="Geometry",
            subcategory="projections",
        ),
        svg="results/figures/projections_{dataset}.svg",
    log:
        "logs/plot_projections/{dataset}.log",
    benchmark:
        "benchmarks/rules/plot_projections/{dataset}.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_projections"),
        activations=config["activations"],
    script:
        "../../scripts/plot_projections.py"


rule plot_forest:
    input:
        claims="results/tables/claims.parquet",
    output:
        png=report(
            "results/figures/forest.png",
            caption="../report/forest.rst",
            category="Claims",
        ),
        svg="results/figures/forest.svg",
    log:
        "logs/plot_forest.log",
    benchmark:
        "benchmarks/rules/plot_forest/forest.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("plot"),
        runtime=job_runtime("plot"),
    params:
        code=code_digest("plot_forest"),
    script:
        "../../scripts/plot_forest.py"
