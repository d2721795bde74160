"""geoctx: how activation functions preserve or destroy data geometry through depth.

The package computes; the Snakemake workflow around it persists. Every module
can be used from a notebook without the workflow:

- :mod:`geoctx.config`      valid names, config validation and slicing
- :mod:`geoctx.schema`      the config's strict JSON-schema validator and size limits
- :mod:`geoctx.renamed_keys` config keys of earlier versions, and what to write now
- :mod:`geoctx.imports`     the code a job runs (its import closure) and its digest
- :mod:`geoctx.datasets`    dataset generators and splits
- :mod:`geoctx.models`      the Keras MLP builder
- :mod:`geoctx.training`    training to convergence, representations
- :mod:`geoctx.tuning`      each architecture's learning rate, chosen on tuning seeds
- :mod:`geoctx.units`       unit health: inactive, dead and saturated units
- :mod:`geoctx.geometry`    per-layer geometry metrics (pure numpy/scipy/sklearn);
  :mod:`geoctx.geometry.stage` the geometry of one model, layer by layer
- :mod:`geoctx.autodiff`    input gradients, Jacobians, kernel gradient norms
  (the only backend autodiff)
- :mod:`geoctx.robustness`  attacks, boundary distance, calibration (a subpackage)
- :mod:`geoctx.cost`        latency timers, inference-cost benchmark, ratios to ReLU
- :mod:`geoctx.stats`       studentized bootstrap, t-tests, Holm, the verdict rule
- :mod:`geoctx.evidence`    what each claim's evidence measures, from which table
- :mod:`geoctx.claims`      claims C1-C9 mapped to evidence; the scorecard
- :mod:`geoctx.fingerprint` the study fingerprint (``python -m geoctx.fingerprint``)
- :mod:`geoctx.tables`      Parquet schemas and table I/O
- :mod:`geoctx.plots`       seaborn figures
- :mod:`geoctx.report`      the HTML/PDF report and its citation
- :mod:`geoctx.jobserver`   a local run's authenticated job server (a subpackage)
"""

__version__ = "0.1.0"
