"""The command line: list, show, and one-line errors with a non-zero exit for bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tunebench.cli import main


def _error(capsys, argv) -> str:
    """A non-zero exit and one error line on stderr (warnings about skipped images aside); returns stderr."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0
    errors = [line for line in err.strip().splitlines() if not line.startswith("warning: skipped ")]
    assert "Traceback" not in err and len(errors) == 1, err
    return err


def test_list_shows_every_benchmark(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("alexnet-caltech", "resnet50-caltech", "vgg16-caltech"):
        assert name in out
    assert "seed_report" in out and "caltech101" in out and "003" in out


def test_show_prints_defaults_space_grid_and_reference(capsys):
    assert main(["show", "alexnet-caltech"]) == 0
    out = capsys.readouterr().out
    assert "lr: loguniform(0.001, 0.1)" in out
    assert "step_size: [5, 10, 15, 20]" in out and "gamma: [0.1, 0.2, 0.3, 0.5]" in out
    # the report's figures by the configuration behind them: T3.12's pretrained, conv-frozen 0.84 on test,
    # T3.3's lr 1e-3 with validation loss 4.55
    assert "T3.12 conv frozen" in out and "lr=0.01, weights=imagenet, freeze=conv" in out
    assert "0.84" in out and "4.55" in out


def test_user_search_space_file(tmp_path, capsys):
    space = tmp_path / "my_space.py"
    space.write_text(
        "from dataclasses import replace\nfrom search_spaces import BENCHMARKS\n"
        "BENCHMARK = replace(BENCHMARKS['alexnet-caltech'], name='my-alexnet', max_epochs=5)\n")
    assert main(["show", str(space)]) == 0
    assert "my-alexnet" in capsys.readouterr().out


@pytest.mark.parametrize("content,message", [
    ("BENCHMARK = (\n", "syntax error"),
    ("x = 1\n", "defines no BENCHMARK"),
])
def test_bad_user_search_space_file(tmp_path, capsys, content, message):
    space = tmp_path / "bad_space.py"
    space.write_text(content)
    assert message in _error(capsys, ["show", str(space)])


@pytest.mark.parametrize("extra,message", [
    (["--set", "learning_rate=0.1"], "unknown hyperparameter"),
    (["--set", "lr=abc"], "expected a float"),
    (["--set", "lr=-0.1"], "out of range"),
    (["--search", "bayes"], "invalid choice"),
    (["--gpus-per-trial", "-1"], "argument --gpus-per-trial: must be >= 0, got -1"),
])
def test_bad_search_options(capsys, caltech_tree, extra, message):
    assert message in _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(caltech_tree), *extra])


def test_unknown_benchmark(capsys):
    assert "unknown benchmark 'alexnet-imagenet'" in _error(capsys, ["search", "alexnet-imagenet"])


def test_missing_data_dir(capsys, in_tmp, tracking_uri):
    err = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(in_tmp / "missing"),
                          "--tracking-uri", tracking_uri])
    assert "does not exist" in err


def test_empty_class_folder(capsys, in_tmp, caltech_tree, tracking_uri):
    (caltech_tree / "101_ObjectCategories" / "empty_class").mkdir()
    err = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(caltech_tree), "--tracking-uri", tracking_uri])
    assert "empty_class has no images" in err


@pytest.mark.parametrize("uri", ["sqlite:///{tmp}/a-file/mlruns.db", "nosuchscheme://host/x"])
def test_unusable_tracking_uri_fails_before_any_work(capsys, in_tmp, caltech_tree, uri):
    (in_tmp / "a-file").write_text("a file, not a folder")
    err = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(caltech_tree),
                          "--tracking-uri", uri.format(tmp=in_tmp), "--storage-path", str(in_tmp / "ray")])
    assert "cannot use MLflow tracking store" in err
    assert not (in_tmp / "ray").exists()


def test_installed_command_prints_one_line_and_exits_non_zero():
    result = subprocess.run([sys.executable, "-m", "tunebench", "search", "nope"], capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunebench: error: unknown benchmark 'nope' (known: alexnet-caltech,")
    assert lines[0].endswith("vgg16-caltech; or a path to a .py file)")


def test_version_through_the_module_and_the_command():
    import tunebench

    installed = str(Path(sys.executable).parent / "tunebench")
    for command in ([sys.executable, "-m", "tunebench", "--version"], [installed, "--version"]):
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.strip() == f"tunebench {tunebench.__version__}", result


def test_help_gives_every_default_and_the_exit_codes(capsys):
    import argparse

    from tunebench.cli import build_parser

    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name, command in commands.items():
        text = " ".join(command.format_help().split())  # argparse wraps lines
        assert "exit codes: 0 done; 1 an unexpected error" in text and "130 interrupted" in text, name
        assert "(default: None)" not in text and "(default: False)" not in text, name
        for action in command._actions:
            if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
                assert "default" in " ".join(command._get_formatter()._expand_help(action).split()), \
                    (name, action.option_strings)
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0 and "main(argv)" not in capsys.readouterr().out


def test_gpus_requested_on_a_machine_without_gpus(capsys, ray_local, in_tmp, caltech_tree, tracking_uri):
    if ray_local.cluster_resources().get("GPU"):
        pytest.skip("this machine has GPUs")
    err = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(caltech_tree), "--tracking-uri", tracking_uri,
                          "--gpus-per-trial", "0.5", "--storage-path", str(in_tmp / "ray")])
    assert "the Ray cluster has no GPUs" in err
