rule score_claims:
    input:
        **{table: f"results/tables/{table}.parquet" for table in TABLES},
    output:
        report(
            "results/tables/claims.parquet",
            caption="../report/claims.rst",
            category="Claims",
        ),
    log:
        "logs/score_claims.log",
    benchmark:
        "benchmarks/rules/score_claims/claims.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("score_claims"),
        runtime=job_runtime("score_claims"),
    params:
        code=code_digest("score_claims"),
        activations=config["activations"],
        settings=config["claims"],
    script:
        "../../scripts/score_claims.py"


rule simulate_verdicts:
    input:
        claims="results/tables/claims.parquet",
    output:
        "results/tables/verdict_simulation.parquet",
    log:
        "logs/simulate_verdicts.log",
    benchmark:
        "benchmarks/rules/simulate_verdicts/verdict_simulation.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("score_claims"),
        runtime=job_runtime("score_claims"),
    params:
        code=code_digest("simulate_verdicts"),
        alpha=config["claims"]["alpha"],
        min_pairs=config["claims"]["min_pairs"],
        seed=config["claims"]["seed"],
        families=200,
    script:
        "../../scripts/simulate_verdicts.py"


rule render_report:
    input:
        **{table: f"results/tables/{table}.parquet" for table in TABLES},
        claims="results/tables/claims.parquet",
        verdict_simulation="results/tables/verdict_simulation.parquet",
        retrials="results/tables/retrials.parquet",
        figures=[f for f in FIGURES if f.endswith(".png")],
        data_meta=source_metas(),
    output:
        html="results/report/report.html",
        fingerprint="results/report/fingerprint.txt",
        bibtex="results/report/CITATION.bib",
        config="results/report/study_config.json",
    log:
        "logs/render_report.log",
    benchmark:
        "benchmarks/rules/render_report/report.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("render_report"),
        runtime=job_runtime("render_report"),
    params:
        code=code_digest("render_report"),
        study=config["study"],
        config=config,
        commit=workflow_commit(),
        min_pairs=config["claims"]["min_pairs"],
        data_sources=SOURCES,
    script:
        "../../scripts/render_report.py"


rule render_pdf:
    input:
        html="results/report/report.html",
    output:
        "results/report/report.pdf",
    log:
        "logs/render_pdf.log",
    benchmark:
        "benchmarks/rules/render_pdf/report.tsv"
    retries: 2
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=job_mem_mb("render_pdf"),
        runtime=job_runtime("render_pdf"),
    params:
        code=code_digest("render_pdf"),
    script:
        "../../scripts/render_pdf.py"
