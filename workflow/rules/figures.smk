rule plot_accuracy:
    input:
        runs="results/tables/runs.parquet",
        code=package("plots"),
    output:
        png=report(
            "results/figures/accuracy_vs_depth.png",
            caption="../report/accuracy_vs_depth.rst",
            category="Training",
        ),
        svg="results/figures/accuracy_vs_depth.svg",
    log:
        "logs/plot_accuracy.log",
    conda:
        ENV
    script:
        "../../scripts/plot_accuracy.py"


rule plot_grad_norms:
    input:
        units="results/tables/units.parquet",
        code=package("plots"),
    output:
        png=report(
            "results/figures/grad_norm_by_layer.png",
            caption="../report/grad_norm_by_layer.rst",
            category="Training",
        ),
        svg="results/figures/grad_norm_by_layer.svg",
    log:
        "logs/plot_grad_norms.log",
    conda:
        ENV
    script:
        "../../scripts/plot_grad_norms.py"
