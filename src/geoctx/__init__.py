"""geoctx: how activation functions preserve or destroy data geometry through depth.

The package computes; the Snakemake workflow around it persists. Every module
can be used from a notebook without the workflow:

- :mod:`geoctx.config`      valid names, config validation and slicing
- :mod:`geoctx.datasets`    dataset generators and splits
- :mod:`geoctx.models`      the Keras MLP builder
- :mod:`geoctx.training`    training, unit health, representations
- :mod:`geoctx.tables`      Parquet schemas and table I/O
- :mod:`geoctx.plots`       seaborn figures
- :mod:`geoctx.report`      the HTML report
"""

__version__ = "0.1.0"
