"""README's code runs as written: its package example is executed here."""

import re

from smoke_study import ROOT


def test_readme_package_example_runs():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    for block in blocks:
        namespace = {}
        # raises on any name, keyword or setting the code no longer has
        exec(compile(block, "README.md", "exec"), namespace)
        assert 0.0 <= namespace["result"].run["test_accuracy"] <= 1.0


def test_config_readme_shows_the_rates_the_shipped_default_study_chose():
    # the table config/README.md shows is the one the default study's
    # tuning table (shipped in reference/default) gives: it fails on drift
    import pandas as pd

    from geoctx.methods import rates_markdown

    text = (ROOT / "config" / "README.md").read_text()
    tuning = pd.read_parquet(ROOT / "reference/default/tables/tuning.parquet")
    assert rates_markdown(tuning) in text


def test_config_readme_lists_the_trailing_activations_of_the_shipped_default_study():
    # the sentence is geoctx.trailing.listing of the shipped default study's
    # runs, tuning and retrials tables (reference/default): it fails on drift
    import pandas as pd

    from geoctx import trailing

    tables = ROOT / "reference/default/tables"
    listed = trailing.listing(
        trailing.classify(
            *(pd.read_parquet(tables / f"{t}.parquet") for t in trailing.TABLES)
        )
    )
    text = " ".join((ROOT / "config" / "README.md").read_text().split())
    assert listed and listed in text
