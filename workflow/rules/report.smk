rule render_report:
    input:
        runs="results/tables/runs.parquet",
        units="results/tables/units.parquet",
        figures=[f for f in FIGURES if f.endswith(".png")],
        code=package("report", "tables"),
        template=f"{SRC}/geoctx/templates/report.html.j2",
    output:
        html="results/report/report.html",
    log:
        "logs/render_report.log",
    conda:
        ENV
    params:
        study=config["study"],
        config=config,
    script:
        "../../scripts/render_report.py"
