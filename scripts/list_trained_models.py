"""list_trained_models: the study's trained models, one a line, once all exist."""

from pathlib import Path

from geoctx.logs import log_to

log = log_to(snakemake.log[0])

models = sorted(
    str(Path(path).parent.relative_to("results/models"))
    for path in snakemake.input.runs
)
Path(snakemake.output[0]).write_text("".join(f"{model}\n" for model in models))
log.info("%d trained models", len(models))
