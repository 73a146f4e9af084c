"""The layering of ../shared/DESIGN.md, kept true: imports point down, Ray only at and above the trainable (and in
the search-space declarations), MLflow only in the tracking room, which imports no Ray."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Higher layers may import lower ones, never the reverse. Modules of one package (search.*, data.*, models.*)
# import each other freely. The bottom layer holds what everything may use: `tunebench` (TunebenchError), signals,
# the registry, the typed settings, the trial vocabulary and the tracking room (MLflow, imported where it is used).
LAYERS = {
    "tunebench.__main__": 8, "tunebench.cli": 8, "tunebench.ui": 8,
    "tunebench.search": 7, "tunebench.study_report": 7, "tunebench.predict": 7, "tunebench.recorded": 7, "tunebench.study_tables": 7,
    "tunebench.hparams": 6, "search_spaces": 6,
    "tunebench.benchmark": 5, "tunebench.study": 5,
    "tunebench.trainable": 4,
    "tunebench.train": 3, "tunebench.features": 3, "tunebench.acceleration": 3,
    "tunebench.models": 2, "tunebench.data": 2,
    "tunebench.reports": 1, "tunebench.plots": 1, "tunebench.references": 1,
    "tunebench": 0, "tunebench.signals": 0, "tunebench.registry": 0, "tunebench.settings": 0,
    "tunebench.console": 0,
    "tunebench.trials": 0, "tunebench.tracking": 0,
}
RAY_ALLOWED = {"tunebench.__main__", "tunebench.cli", "tunebench.search", "tunebench.hparams", "tunebench.trainable",
               "search_spaces", "tunebench.benchmark"}  # benchmark: builds a space's deferred Tune domains


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> tuple[str, int]:
    """The layer a module belongs to: its own entry, else its package's."""
    name = module
    while name not in LAYERS:
        name = name.rpartition(".")[0]
        assert name, f"{module} is in no layer: add it to LAYERS"
    return name, LAYERS[name]


def _imports(path: Path) -> set[str]:
    """Every module the file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


SOURCES = sorted([*ROOT.glob("tunebench/**/*.py"), *ROOT.glob("search_spaces/**/*.py")])


def test_every_module_has_a_layer():
    for path in SOURCES:
        _layer(_module(path))


def test_imports_point_down():
    upward = []
    for path in SOURCES:
        own, rank = _layer(_module(path))
        for imported in _imports(path):
            if imported.split(".")[0] not in ("tunebench", "search_spaces"):
                continue
            other, other_rank = _layer(imported)
            if other != own and other_rank > rank:
                upward.append(f"{_module(path)} imports {imported}")
    assert not upward, upward


def test_ray_only_at_and_above_the_trainable_and_mlflow_only_in_tracking():
    misplaced = []
    for path in SOURCES:
        own, _ = _layer(_module(path))
        for imported in _imports(path):
            top = imported.split(".")[0]
            if top == "ray" and own not in RAY_ALLOWED:
                misplaced.append(f"{_module(path)} imports {imported}")
            if top == "mlflow" and own != "tunebench.tracking":
                misplaced.append(f"{_module(path)} imports {imported}")
    assert not misplaced, misplaced


def test_the_command_line_starts_without_ray_torch_or_mlflow():
    """`tunebench list`, `show` and `--help` read the search package's tables and the typed settings: importing
    the CLI imports none of the heavy libraries (they load when a command needs them)."""
    import subprocess
    import sys

    code = ("import sys, tunebench.cli; heavy = [m for m in ('ray', 'torch', 'mlflow') if m in sys.modules]; "
            "print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""


def test_reading_records_imports_no_ray_or_torch():
    """`tunebench compare` and `report` read MLflow records: every module they use, the shipped benchmarks and
    studies among them (their search spaces defer Ray Tune's domains), imports neither Ray nor torch."""
    import subprocess
    import sys

    code = ("import sys, tunebench.cli, tunebench.recorded, tunebench.study_report, tunebench.tracking, search_spaces; "
            "from search_spaces import BENCHMARKS; print(','.join(m for m in ('ray', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""
