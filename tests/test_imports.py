"""Code digests: each rule's digest covers the code its job runs, found from
its script's imports, and nothing that depends on where the study lives."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from geoctx import evaluation, imports

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SCRIPTS = sorted((ROOT / "scripts").glob("*.py"))


def rule_digest(root, script):
    return imports.digest(
        imports.closure(root / "scripts" / f"{script}.py", src=root / "src"),
        root=root,
    )


@pytest.fixture
def workflow_copy(tmp_path):
    for item in ("scripts", "src"):
        shutil.copytree(
            ROOT / item, tmp_path / item, ignore=shutil.ignore_patterns("__pycache__")
        )
    return tmp_path


def edit(path):
    path.write_text(path.read_text() + "\n# an edit\n")


@pytest.mark.parametrize(
    ("edited", "changed", "unchanged"),
    [
        # the graph cache: training, storage and evaluation use it
        ("src/geoctx/recent.py", ["train_model", "evaluate_models"], []),
        # imported by tables, which training imports
        ("src/geoctx/stats/decision.py", ["train_model"], []),
        ("src/geoctx/plots.py", ["plot_accuracy"], ["train_model", "score_claims"]),
        ("src/geoctx/templates/report.html.j2", ["render_report"], ["train_model"]),
        ("scripts/train_model.py", ["train_model"], ["evaluate_models"]),
        # how a job is run, not what it computes
        ("src/geoctx/jobserver/__init__.py", [], ["train_model", "evaluate_models"]),
        ("src/geoctx/jobserver/server.py", [], ["train_model", "evaluate_models"]),
    ],
)
def test_an_edit_changes_the_digest_of_exactly_the_rules_that_run_it(
    workflow_copy, edited, changed, unchanged
):
    before = {s: rule_digest(workflow_copy, s) for s in changed + unchanged}
    edit(workflow_copy / edited)
    after = {s: rule_digest(workflow_copy, s) for s in changed + unchanged}
    assert [s for s in before if before[s] != after[s]] == changed


def test_digest_is_the_same_in_a_copy_elsewhere(workflow_copy):
    for script in ("train_model", "render_report"):
        assert rule_digest(workflow_copy, script) == rule_digest(ROOT, script)


@pytest.mark.parametrize("part", evaluation.PARTS)
def test_part_digest_follows_its_entry_function(tmp_path, part):
    # each part's code is what its entry function _<part> imports
    assert evaluation._COMPUTE[part] is getattr(evaluation, f"_{part}")
    files = {p.relative_to(SRC).as_posix() for p in part_code(SRC, part)}
    own = {
        "geometry": "geoctx/geometry/topology.py",
        "jacobians": "geoctx/training.py",
        "robustness": "geoctx/robustness/attacks.py",
    }
    assert own[part] in files
    assert "geoctx/evaluation.py" in files
    if part != "robustness":
        assert "geoctx/robustness/attacks.py" not in files


def part_code(src, part):
    return imports.function_closure(src / "geoctx/evaluation.py", f"_{part}", src=src)


def test_every_rule_digests_its_own_script():
    rules = {
        f"{smk.name}: {rule.split(':')[0]}": rule
        for smk in (ROOT / "workflow/rules").glob("*.smk")
        for rule in re.split(r"(?m)^rule ", smk.read_text())[1:]
    }
    digested = {
        name: re.search(r'code=code_digest\("(\w+)"\)', rule)
        for name, rule in rules.items()
    }
    for name, rule in rules.items():
        script = re.search(r'script:\s*"../../scripts/(\w+)\.py"', rule)
        digest = digested[name]
        assert script is not None, name
        assert digest is not None and digest[1] == script[1], name


# Run in a fresh interpreter: every geoctx import statement of the script,
# and then of each package module loaded (inside functions too, found by
# Python's own parser), executed by Python's import system until nothing new
# loads. Prints the files of the geoctx modules in sys.modules.
OBSERVE = r"""
import ast, importlib, importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
roots, skip = sys.argv[2:], {"geoctx.jobserver"}

def skipped(name):
    return any(name == s or name.startswith(s + ".") for s in skip)

def run_imports(path, name, is_package):
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            base = importlib.util.resolve_name(base, package) if node.level else base
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for full in names:
            if full.split(".")[0] != "geoctx" or skipped(full):
                continue
            try:
                importlib.import_module(full)
            except ModuleNotFoundError:
                pass  # an attribute, not a module

for root in roots:
    run_imports(root, "__main__", False)
scanned = set()
while True:
    todo = [n for n in list(sys.modules)
            if n.split(".")[0] == "geoctx" and n not in scanned and not skipped(n)]
    if not todo:
        break
    for name in todo:
        scanned.add(name)
        module = sys.modules[name]
        path = module.__file__
        run_imports(path, name, path.endswith("__init__.py"))
print(json.dumps(sorted(sys.modules[n].__file__ for n in scanned)))
"""


def observed(*roots):
    proc = subprocess.run(
        [sys.executable, "-c", OBSERVE, str(SRC), *map(str, roots)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {Path(p) for p in json.loads(proc.stdout)}


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_every_module_a_script_loads_is_in_its_digest(script):
    loaded = observed(script)
    assert loaded, "nothing observed"
    assert loaded <= set(imports.closure(script, src=SRC))


def test_the_modules_train_model_loads_are_in_its_digest():
    # the fast version of the test above, on the rule the issue found drifted
    loaded = observed(ROOT / "scripts/train_model.py")
    assert SRC / "geoctx/recent.py" in loaded
    assert loaded <= set(imports.closure(ROOT / "scripts/train_model.py", src=SRC))


@pytest.mark.slow
@pytest.mark.parametrize("part", evaluation.PARTS)
def test_every_module_a_part_loads_is_in_its_digest(tmp_path, part):
    # the imports of geoctx.evaluation's top level and of the part's entry
    # function, as one script
    import ast

    source = (SRC / "geoctx/evaluation.py").read_text()
    tree = ast.parse(source)
    entry = next(n for n in tree.body if getattr(n, "name", None) == f"_{part}")
    statements = [
        ast.get_source_segment(source, node)
        for node in [*tree.body, *ast.walk(entry)]
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    script = tmp_path / f"{part}.py"
    script.write_text("\n".join(statements) + "\n")
    loaded = observed(script) - {SRC / "geoctx/evaluation.py"}
    assert loaded
    assert loaded <= set(part_code(SRC, part))
