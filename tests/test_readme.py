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
