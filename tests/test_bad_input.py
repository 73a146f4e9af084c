"""Every bad input of docs/errors.md, one test (or case) per row of its table.

Each CLI row asserts exit code 2, exactly one stderr line `tunebench: error: ...`, the key phrase of the message,
and that nothing was started or lost (no Ray experiment folder, no MLflow run left RUNNING). The image rows call
the loader directly on real JPEG/PNG files written with PIL. Nothing here runs a trial: every error comes first.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.conftest import CLASS_COLOURS, _picture, free_port
from tunebench import TunebenchError
from tunebench.cli import main
from tunebench.data import build_dataset, load_rgb

REPO = Path(__file__).resolve().parents[1]


# --- helpers ---------------------------------------------------------------------------------------------------

def _error(capsys, argv: list[str]) -> str:
    """Run the CLI in-process: exit 2 and exactly one stderr line `tunebench: error: ...` (besides warnings about
    skipped images); returns that line."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = [line for line in err.strip().splitlines() if not line.startswith("warning: skipped ")]
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("tunebench: error: "), err
    assert code == 2, (code, err)
    return lines[0]


def _cli(argv: list[str], cwd: Path, timeout: float) -> str:
    """Run `python -m tunebench` as the user does (MLflow's HTTP retry settings as the user's shell has them,
    i.e. unset): exit 2, one stderr line, within `timeout` seconds; returns the line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    try:
        result = subprocess.run([sys.executable, "-m", "tunebench", *argv], capture_output=True, text=True,
                                cwd=cwd, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"no answer within {timeout:g} s (hangs); stderr so far: {(exc.stderr or b'')[-300:]!r}")
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("tunebench: error: "), result.stderr[-3000:]
    assert result.returncode == 2, (result.returncode, result.stderr)
    return lines[0]


def _runs(uri: str) -> list:
    """Every MLflow run in the store (all experiments)."""
    client = MlflowClient(tracking_uri=uri)
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids)) if ids else []


def _nothing_started(storage: Path, uri: str | None = None) -> None:
    """No Ray experiment in --storage-path (the folder may exist, empty) and no MLflow run in the store."""
    assert not storage.exists() or not any(storage.iterdir()), sorted(storage.iterdir())
    if uri is not None:
        assert _runs(uri) == []


def _all(splits) -> set[str]:
    return {path for path, _ in splits.train + splits.val + splits.test}


@pytest.fixture
def search_args(in_tmp, caltech_tree, tracking_uri):
    """A valid alexnet-caltech search's options, for rows that change one thing."""
    return ["--data-dir", str(caltech_tree), "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")]


# --- benchmark and --set ---------------------------------------------------------------------------------------

def test_unknown_benchmark(capsys, in_tmp):
    line = _error(capsys, ["search", "alexnet-imagenet", "--storage-path", str(in_tmp / "ray")])
    assert "unknown benchmark 'alexnet-imagenet' (known: alexnet-caltech," in line
    assert not (in_tmp / "ray").exists() and not (in_tmp / "mlruns.db").exists()


def test_unknown_model(capsys, in_tmp, tracking_uri):
    line = _error(capsys, ["search", "resnet50-artworks", "--set", "model=lenet", "--tracking-uri", tracking_uri,
                           "--storage-path", str(in_tmp / "ray"), "--data-dir", str(in_tmp / "no-data-needed")])
    assert "unknown model 'lenet' (known: alexnet," in line and "resnet50-modified" in line
    assert not (in_tmp / "ray").exists() and not (in_tmp / "mlruns.db").exists()


@pytest.mark.parametrize("pair,message", [
    ("learning_rate=0.1", "--set learning_rate: unknown hyperparameter for this benchmark (known: augment,"),
    ("lr=abc", "--set lr=abc: expected a float"),
    ("step_size=2.5", "--set step_size=2.5: expected an int"),
    ("lr=-0.1", "--set lr=-0.1: out of range, must be > 0.0"),
    ("momentum=1.5", "--set momentum=1.5: out of range, must be <= 1.0"),
    ("lr", "--set lr: expected key=value"),
], ids=["unknown-key", "wrong-type-float", "wrong-type-int", "below-range", "above-range", "missing-equals"])
def test_bad_set(capsys, in_tmp, search_args, pair, message):
    assert message in _error(capsys, ["search", "alexnet-caltech", "--set", pair, *search_args])
    assert not (in_tmp / "ray").exists()


@pytest.mark.parametrize("split, problem", [
    ("50/25/20", "the percentages sum to 95, not 100"), ("90/10/0", "TEST is 0"),
    ("fifty", "expected TRAIN/VAL/TEST percentages"),
], ids=["sum-not-100", "no-test", "not-percentages"])
def test_unknown_split_value(capsys, in_tmp, tracking_uri, tmp_path, split, problem):
    line = _error(capsys, ["search", "cnn-catsdogs", "--set", f"split={split}", "--tracking-uri", tracking_uri,
                           "--storage-path", str(in_tmp / "ray"), "--data-dir", str(tmp_path)])
    assert f"--set split={split}: {problem}" in line
    assert line.endswith("TRAIN/VAL/TEST percentages, whole numbers summing to 100 with each above 0, e.g. 80/10/10 "
                         "or 70/15/15" + ("" if split == "fifty" else ")"))
    assert not (in_tmp / "ray").exists()
    with pytest.raises(TunebenchError, match=f"split '{split}' for dogs-vs-cats: {problem}"):
        build_dataset("dogs-vs-cats", tmp_path, split=split)  # the loader refuses it too


# --- user search-space files -----------------------------------------------------------------------------------

def test_search_space_file_with_syntax_error(capsys, in_tmp, search_args):
    space = in_tmp / "bad_space.py"
    space.write_text("from search_spaces import BENCHMARKS\nBENCHMARK = (\n")
    line = _error(capsys, ["search", str(space), *search_args])
    assert f"{space}:2: syntax error: '(' was never closed" in line
    assert not (in_tmp / "ray").exists()


def test_search_space_file_without_benchmark(capsys, in_tmp, search_args):
    space = in_tmp / "no_benchmark.py"
    space.write_text("SPACE = {'lr': [0.01, 0.1]}\n")
    assert f"{space}: defines no BENCHMARK = Benchmark(...)" in _error(capsys, ["search", str(space), *search_args])
    assert not (in_tmp / "ray").exists()


# --- data folders ----------------------------------------------------------------------------------------------

def test_missing_data_dir(capsys, in_tmp, tracking_uri):
    line = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(in_tmp / "missing"),
                           "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")])
    assert f"data directory {in_tmp / 'missing'} does not exist (set --data-dir or TUNEBENCH_DATA)" in line
    _nothing_started(in_tmp / "ray", tracking_uri)


def test_empty_data_dir(capsys, in_tmp, tracking_uri):
    (in_tmp / "data").mkdir()
    line = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(in_tmp / "data"),
                           "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")])
    assert f"Caltech101 not found in {in_tmp / 'data'}: expected" in line and "pass --download" in line
    _nothing_started(in_tmp / "ray", tracking_uri)


def test_class_folder_without_images(capsys, in_tmp, caltech_tree, tracking_uri, search_args):
    empty = caltech_tree / "101_ObjectCategories" / "zebra"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image\n")
    (empty / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    line = _error(capsys, ["search", "alexnet-caltech", *search_args])
    assert f"class folder {empty} has no images" in line
    _nothing_started(in_tmp / "ray", tracking_uri)


def test_hidden_folders_never_become_classes(caltech_tree):
    categories = caltech_tree / "101_ObjectCategories"
    hidden = [categories / ".ipynb_checkpoints", categories / "ant" / ".ipynb_checkpoints", categories / ".thumbs"]
    for folder in hidden:
        folder.mkdir(exist_ok=True)
        _picture((10, 10, 10), 5).save(folder / "image_0001-checkpoint.jpg")
    (categories / "ant" / "._image_0001.jpg").write_bytes(b"\0\5\26\7 AppleDouble")  # macOS resource fork
    splits = build_dataset("caltech101", caltech_tree)
    assert splits.classes == sorted(CLASS_COLOURS)
    assert not any("/." in path for path in _all(splits)) and splits.skipped[0][0].endswith("Faces/image_0100.jpg")
    assert len(splits.skipped) == 1  # only the tree's truncated JPEG: hidden files are neither samples nor skipped


# --- image files: skipped (and reported) or converted to RGB ---------------------------------------------------

def _sixteen_bit(path: Path, fmt: str) -> None:
    """A 16-bit grayscale PNG (PIL mode I;16): left half at 25% of full scale, right half at 75%."""
    pixels = np.zeros((40, 48), dtype=np.uint16)
    pixels[:, :24], pixels[:, 24:] = 16384, 49152
    image = Image.fromarray(pixels)
    assert image.mode == "I;16"
    image.save(path, format=fmt)


def _write(kind: str, path: Path, whole: Path) -> None:
    picture = _picture(CLASS_COLOURS["ant"], 7)
    if kind == "not-an-image":
        path.write_text("<html><body>404 Not Found</body></html>\n")  # an error page saved under the image's name
    elif kind == "corrupt-header":
        data = whole.read_bytes()
        path.write_bytes(data[:20] + bytes(range(256)) * (len(data) // 256))  # JPEG marker, then noise
    elif kind == "truncated":
        path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    elif kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "zero-filled-tail":
        data = whole.read_bytes()
        path.write_bytes(data[: len(data) // 2] + bytes(len(data) - len(data) // 2))  # preallocated, half written
    elif kind == "cmyk":
        picture.convert("CMYK").save(path, format="JPEG")
    elif kind in ("16-bit-png", "16-bit-as-jpg"):
        _sixteen_bit(path, "PNG")
    elif kind == "rgba":
        rgba = picture.convert("RGBA")
        rgba.putalpha(128)
        rgba.save(path, format="PNG")
    elif kind == "grayscale":
        picture.convert("L").save(path, format="JPEG")
    elif kind == "palette":
        picture.convert("P").save(path, format="PNG")
    else:
        raise AssertionError(kind)


IMAGE_ROWS = [  # (kind, file name, what the loader does, the reason's key phrase when skipped)
    ("not-an-image", "broken.jpg", "skipped", "UnidentifiedImageError: cannot identify image file"),
    ("corrupt-header", "broken.jpg", "skipped", "cannot identify image file"),
    ("truncated", "broken.jpg", "skipped", "OSError: image file is truncated"),
    ("zero-byte", "empty.jpg", "skipped", "UnidentifiedImageError: cannot identify image file"),
    ("cmyk", "cmyk.jpg", "converted", None),
    ("16-bit-png", "deep.png", "converted", None),
    ("16-bit-as-jpg", "deep.jpg", "converted", None),
    ("rgba", "alpha.png", "converted", None),
    ("grayscale", "gray.jpg", "converted", None),
    ("palette", "palette.png", "converted", None),
]


@pytest.mark.parametrize("kind,name,outcome,reason", IMAGE_ROWS, ids=[row[0] for row in IMAGE_ROWS])
def test_odd_image_files(caltech_tree, kind, name, outcome, reason):
    ant = caltech_tree / "101_ObjectCategories" / "ant"
    path = ant / name
    _write(kind, path, ant / "image_0001.jpg")
    splits = build_dataset("caltech101", caltech_tree)
    skipped = dict(splits.skipped)
    assert set(skipped) - {str(path)} == {str(caltech_tree / "101_ObjectCategories" / "Faces" / "image_0100.jpg")}
    if outcome == "skipped":
        assert str(path) not in _all(splits)
        assert reason in skipped[str(path)] and "\n" not in skipped[str(path)]
    else:
        assert str(path) in _all(splits) and str(path) not in skipped
        image = load_rgb(str(path))
        assert image.mode == "RGB" and image.size == (48, 40)
        small = load_rgb(str(path), 16)  # the reduced decode the trainable uses (JPEGs at 1/2 scale here)
        assert small.mode == "RGB" and min(small.size) >= 16


@pytest.mark.parametrize("name", ["deep.png", "deep.jpg"])
def test_sixteen_bit_images_keep_their_picture(tmp_path, name):
    path = tmp_path / name
    _sixteen_bit(path, "PNG")
    image = load_rgb(str(path))
    assert image.getpixel((0, 0)) == (64, 64, 64) and image.getpixel((47, 0)) == (192, 192, 192)


def test_jpeg_with_zero_filled_tail_is_skipped(caltech_tree):
    ant = caltech_tree / "101_ObjectCategories" / "ant"
    path = ant / "half_written.jpg"
    _write("zero-filled-tail", path, ant / "image_0001.jpg")
    splits = build_dataset("caltech101", caltech_tree)
    assert str(path) in dict(splits.skipped), f"{path.name} is not in skipped"
    assert str(path) not in _all(splits)


def test_split_files_naming_missing_images(caltech_tree):
    (caltech_tree / "train.txt").write_text("Faces/image_0001.jpg\nant/image_0001.jpg\nairplanes/image_0001.jpg\n"
                                            "ant/image_0777.jpg\nzebra/image_0001.jpg\n"
                                            "Faces/image_0002.jpg\nant/image_0002.jpg\nairplanes/image_0002.jpg\n")
    (caltech_tree / "test.txt").write_text("Faces/image_0003.jpg\nairplanes/image_0999.jpg\n")
    splits = build_dataset("caltech101", caltech_tree)
    categories = caltech_tree / "101_ObjectCategories"
    assert dict(splits.skipped) == {
        str(categories / "ant" / "image_0777.jpg"): "listed in train.txt but missing",
        str(categories / "zebra" / "image_0001.jpg"): "listed in train.txt but missing",
        str(categories / "airplanes" / "image_0999.jpg"): "listed in test.txt but missing",
    }
    assert len(splits.train) + len(splits.val) == 6 and len(splits.test) == 1


# --- Ray, MLflow and storage -----------------------------------------------------------------------------------

def test_unreachable_ray_address(in_tmp, caltech_tree, tracking_uri):
    line = _cli(["search", "alexnet-caltech", "--address", "127.0.0.1:1", "--data-dir", str(caltech_tree),
                 "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")], in_tmp, timeout=30)
    assert "cannot connect to Ray at 127.0.0.1:1" in line
    _nothing_started(in_tmp / "ray", tracking_uri)


@pytest.mark.parametrize("uri", ["ftp://x", "sqlite:///{tmp}/a-file/mlruns.db"], ids=["ftp-scheme", "sqlite-under-file"])
def test_unusable_tracking_uri(capsys, in_tmp, caltech_tree, uri):
    (in_tmp / "a-file").write_text("a file, not a folder\n")
    uri = uri.format(tmp=in_tmp)
    line = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(caltech_tree), "--tracking-uri", uri,
                           "--storage-path", str(in_tmp / "ray")])
    assert f"cannot use MLflow tracking store {uri}: " in line
    assert not (in_tmp / "ray").exists()
    assert (in_tmp / "a-file").read_text() == "a file, not a folder\n"


def test_unreachable_tracking_server(in_tmp, caltech_tree):
    uri = f"http://127.0.0.1:{free_port()}"
    line = _cli(["search", "alexnet-caltech", "--data-dir", str(caltech_tree), "--tracking-uri", uri,
                 "--storage-path", str(in_tmp / "ray")], in_tmp, timeout=40)
    # seconds (about 12 s here, most of it importing torch), not the minutes of MLflow's own retries
    assert f"cannot use MLflow tracking store {uri}: " in line and "Connection refused" in line
    assert not (in_tmp / "ray").exists()


def test_unwritable_storage_path(capsys, in_tmp, search_args, tracking_uri):
    (in_tmp / "a-file").write_text("a file, not a folder\n")
    storage = in_tmp / "a-file" / "ray"
    line = _error(capsys, ["search", "alexnet-caltech", *search_args, "--storage-path", str(storage)])
    assert f"cannot write to --storage-path {storage}: Not a directory" in line
    assert _runs(tracking_uri) == []


def test_gpus_requested_on_a_machine_without_gpus(capsys, ray_local, in_tmp, search_args, tracking_uri):
    if ray_local.cluster_resources().get("GPU"):
        pytest.skip("this machine has GPUs")
    line = _error(capsys, ["search", "alexnet-caltech", *search_args, "--gpus-per-trial", "1"])
    assert "--gpus-per-trial 1.0: the Ray cluster has no GPUs (use --gpus-per-trial 0)" in line
    _nothing_started(in_tmp / "ray", tracking_uri)


# --- compare and report ----------------------------------------------------------------------------------------

@pytest.fixture
def reader_env(monkeypatch):
    """What compare/report set for themselves, restored after the test (they set it process-wide)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")


def test_compare_on_an_empty_store(capsys, in_tmp, tracking_uri, reader_env):
    assert f"no searches in {tracking_uri}" in _error(capsys, ["compare", "--tracking-uri", tracking_uri])
    assert f"no searches of cnn-cifar10 in {tracking_uri}" in _error(
        capsys, ["compare", "cnn-cifar10", "--tracking-uri", tracking_uri])


def test_report_on_an_empty_store(capsys, in_tmp, tracking_uri, reader_env):
    line = _error(capsys, ["report", "alexnet-caltech", "--tracking-uri", tracking_uri])
    assert f"no searches of alexnet-caltech in {tracking_uri}" in line
    assert not (in_tmp / "reports").exists()


def test_report_with_unknown_run_id(capsys, in_tmp, tracking_uri, reader_env):
    from tunebench.tracking import Tracker

    tracker = Tracker(tracking_uri)
    parent = tracker.start_run(tracker.experiment_id("alexnet-caltech"), "a-search", {"swept": "lr"},
                               {"benchmark": "alexnet-caltech", "search": "optuna"})
    tracker.end_run(parent, "FINISHED")
    line = _error(capsys, ["report", "alexnet-caltech", "--search", "0123456789abcdef0123456789abcdef",
                           "--tracking-uri", tracking_uri, "--output", str(in_tmp / "report")])
    assert ("no search with run id 0123456789abcdef0123456789abcdef in experiment alexnet-caltech at "
            f"{tracking_uri}") in line
    # not a run id at all (it would break MLflow's filter): the same one-line error
    line = _error(capsys, ["report", "alexnet-caltech", "--search", "x' or '1", "--tracking-uri", tracking_uri,
                           "--output", str(in_tmp / "report")])
    assert f"no search with run id x' or '1 in experiment alexnet-caltech at {tracking_uri}" in line
    assert not (in_tmp / "report").exists()
    assert [(r.info.run_id, r.info.status) for r in _runs(tracking_uri)] == [(parent, "FINISHED")]


@pytest.mark.parametrize("option,value,choices", [("--data-pipeline", "fast", "'cached', 'naive'"),
                                                  ("--precision", "fp16", "'bf16', 'fp32'")],
                         ids=["data-pipeline", "precision"])
def test_bad_search_option(capsys, in_tmp, search_args, option, value, choices):
    line = _error(capsys, ["search", "alexnet-caltech", *search_args, option, value])
    assert f"argument {option}: invalid choice: '{value}' (choose from {choices})" in line
    assert not (in_tmp / "ray").exists()


# --- numbers, names and files that used to get through ---------------------------------------------------------

@pytest.mark.parametrize("option,value,message", [
    ("--cpus-per-trial", "nan", "argument --cpus-per-trial: expected a finite number, got nan"),
    ("--cpus-per-trial", "0", "argument --cpus-per-trial: must be > 0, got 0"),
    ("--gpus-per-trial", "nan", "argument --gpus-per-trial: expected a finite number, got nan"),
    ("--gpus-per-trial", "inf", "argument --gpus-per-trial: expected a finite number, got inf"),
    ("--num-samples", "0", "argument --num-samples: must be >= 1, got 0"),
    ("--max-epochs", "0", "argument --max-epochs: must be >= 1, got 0"),
    ("--max-concurrent", "0", "argument --max-concurrent: must be >= 1, got 0"),
    ("--seed", "-1", "argument --seed: must be >= 0 and <= 4294967295, got -1"),
    ("--seed", "99999999999", "argument --seed: must be >= 0 and <= 4294967295, got 99999999999"),
    ("--max-failures", "-2", "argument --max-failures: must be >= -1, got -2"),
    ("--num-samples", "2.5", "argument --num-samples: expected a whole number, got '2.5'"),
    ("--time-budget", "soon", "argument --time-budget: expected a duration such as 90m, 45s, 2h or 1h30m, got 'soon'"),
    ("--time-budget", "5x", "argument --time-budget: expected a duration such as 90m, 45s, 2h or 1h30m, got '5x'"),
    ("--time-budget", "0s", "argument --time-budget: must be longer than 0, got '0s'"),
], ids=["cpus-nan", "cpus-zero", "gpus-nan", "gpus-inf", "samples-zero", "epochs-zero", "concurrent-zero",
        "seed-negative", "seed-too-large", "max-failures-below-minus-one", "samples-fraction", "budget-words",
        "budget-unit", "budget-zero"])
def test_bad_numbers(capsys, in_tmp, search_args, tracking_uri, option, value, message):
    assert message in _error(capsys, ["search", "alexnet-caltech", *search_args, option, value])
    _nothing_started(in_tmp / "ray")
    assert not Path(tracking_uri.removeprefix("sqlite:///")).exists()  # refused before the store is opened


@pytest.mark.parametrize("pair", ["lr=nan", "lr=inf", "momentum=-inf", "dropout_1=nan"])
def test_set_refuses_values_that_are_not_finite(capsys, in_tmp, search_args, pair):
    benchmark = "cnn-cifar10" if pair.startswith("dropout") else "alexnet-caltech"
    assert f"--set {pair}: expected a finite number" in _error(capsys, ["search", benchmark, "--set", pair,
                                                                      *search_args])
    _nothing_started(in_tmp / "ray")


@pytest.mark.parametrize("name", ["../escape", "/tmp/absolute", "a/b", "..", ".", "a\\b"],
                         ids=["parent", "absolute", "nested", "dotdot", "dot", "backslash"])
def test_name_is_a_plain_name(capsys, in_tmp, search_args, name):
    line = _error(capsys, ["search", "alexnet-caltech", *search_args, "--name", name])
    assert f"argument --name: {name!r} is not a plain name" in line
    _nothing_started(in_tmp / "ray")
    assert not (in_tmp / "escape").exists()


@pytest.mark.parametrize("body,message", [
    ("defaults=dict(DEFAULTS, lr=-0.1)", "defaults lr=-0.1: out of range, must be > 0.0"),
    ("defaults=dict(DEFAULTS, lr=float('nan'))", "defaults lr=nan: expected a finite number"),
    ("defaults=dict(DEFAULTS, step_size=2.5)", "defaults step_size=2.5: expected an int"),
    ("defaults=dict(DEFAULTS, learning_rate=0.1)", "defaults learning_rate: unknown hyperparameter"),
    ("max_epochs=-5", "max_epochs=-5: must be a whole number >= 1"),
    ("grid=dict(lr=(0.01, -1.0))", "grid lr=-1.0: out of range, must be > 0.0"),
    ("space=dict(momentum=tune.uniform(0.5, 1.5))", "space momentum=1.5: out of range, must be <= 1.0"),
    ("space=dict(optimizer=tune.choice(['sgd', 'lion']))", "space optimizer=lion: must be one of sgd, adam, rmsprop"),
    ("smoke=dict(SMOKE, batch_size=0)", "smoke batch_size=0: out of range, must be >= 1"),
    ("space=dict(step_size=tune.uniform(0.5, 10.5))", "space step_size=0.5: expected an int"),
], ids=["default-out-of-range", "default-nan", "default-wrong-type", "default-unknown-key", "max-epochs",
        "grid-value", "space-bound", "space-choice", "smoke-value", "space-float-range-for-an-int"])
def test_search_space_file_values_are_checked_like_set(capsys, in_tmp, search_args, body, message):
    space = in_tmp / "my_space.py"
    space.write_text(
        "from ray import tune\nfrom dataclasses import replace\n"
        "from search_spaces._caltech import DEFAULTS, SMOKE\nfrom search_spaces.alexnet_caltech import BENCHMARK as B\n"
        f"BENCHMARK = replace(B, name='mine', {body})\n")
    line = _error(capsys, ["search", str(space), *search_args])
    assert f"tunebench: error: {space}: {message}" in line
    _nothing_started(in_tmp / "ray")


def test_a_search_space_files_deferred_domains_are_checked_alike(capsys, in_tmp, search_args):
    """`from tunebench.benchmark import tune`: the same domains, built when they are checked."""
    space = in_tmp / "my_space.py"
    space.write_text(
        "from tunebench.benchmark import tune\nfrom dataclasses import replace\n"
        "from search_spaces.alexnet_caltech import BENCHMARK as B\n"
        "BENCHMARK = replace(B, name='mine', space=dict(momentum=tune.uniform(0.5, 1.5)))\n")
    line = _error(capsys, ["search", str(space), *search_args])
    assert f"tunebench: error: {space}: space momentum=1.5: out of range, must be <= 1.0" in line
    _nothing_started(in_tmp / "ray")


def test_search_space_file_that_exits_at_import(capsys, in_tmp, search_args):
    space = in_tmp / "exits.py"
    space.write_text("import sys\nsys.exit(0)\n")
    line = _error(capsys, ["search", str(space), *search_args])
    assert f"{space}: exited while being imported (SystemExit: 0)" in line
    _nothing_started(in_tmp / "ray")


def test_show_on_a_file_that_is_not_a_search_space(capsys, in_tmp):
    text_file = in_tmp / "hostname"
    text_file.write_text("myhost\n")
    assert f"{text_file}: not a search-space file (a .py file defining BENCHMARK" in _error(
        capsys, ["show", str(text_file)])


def test_a_class_whose_images_are_all_unreadable(capsys, in_tmp, caltech_tree, search_args, tracking_uri):
    broken = caltech_tree / "101_ObjectCategories" / "zebra"
    broken.mkdir()
    for i in (1, 2):
        (broken / f"image_{i:04d}.jpg").write_text("<html>404</html>\n")
    line = _error(capsys, ["search", "alexnet-caltech", *search_args])
    assert "class 'zebra' has no readable images: all 2 of its images were skipped, e.g. " in line
    _nothing_started(in_tmp / "ray", tracking_uri)


def test_data_dir_that_is_a_file(capsys, in_tmp, tracking_uri):
    (in_tmp / "data.zip").write_bytes(b"PK\x03\x04")
    line = _error(capsys, ["search", "alexnet-caltech", "--data-dir", str(in_tmp / "data.zip"),
                           "--tracking-uri", tracking_uri, "--storage-path", str(in_tmp / "ray")])
    assert f"data directory {in_tmp / 'data.zip'} is a file, not a folder" in line
    _nothing_started(in_tmp / "ray", tracking_uri)


def test_resume_of_another_benchmarks_search_names_it(capsys, in_tmp, tracking_uri):
    search = in_tmp / "ray" / "cifar-search"
    search.mkdir(parents=True)
    (search / "tunebench_search.json").write_text('{"benchmark": "cnn-cifar10"}')
    line = _error(capsys, ["search", "alexnet-caltech", "--resume", "--name", "cifar-search",
                           "--storage-path", str(in_tmp / "ray"), "--tracking-uri", tracking_uri])
    assert ("'cifar-search' is a search of cnn-cifar10, not alexnet-caltech: continue it with "
            "tunebench search cnn-cifar10 --resume --name cifar-search") in line


@pytest.mark.parametrize("content, message", [
    ('{"benchmark": "alexnet-', "cannot read"),                  # cut short as it was written
    ('{"benchmark": "alexnet-caltech"}', "lacks config, data_dir"),  # not a file tunebench wrote
    ('["alexnet-caltech"]', "is not a tunebench search file")])
def test_resume_of_a_damaged_search_file_is_one_line(capsys, in_tmp, tracking_uri, content, message):
    search = in_tmp / "ray" / "damaged"
    search.mkdir(parents=True)
    (search / "tunebench_search.json").write_text(content)
    line = _error(capsys, ["search", "alexnet-caltech", "--resume", "--name", "damaged",
                           "--storage-path", str(in_tmp / "ray"), "--tracking-uri", tracking_uri])
    assert line.startswith("tunebench: error: --resume: ") and str(search / "tunebench_search.json") in line
    assert message in line


def test_ui_on_a_port_in_use_or_out_of_range(in_tmp, tracking_uri):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _cli(["ui", "--port", str(port), "--tracking-uri", tracking_uri], in_tmp, timeout=60)
        assert f"cannot serve the UI on 127.0.0.1:{port}: Address already in use (choose another --port)" in line
    line = _cli(["ui", "--port", "70000", "--tracking-uri", tracking_uri], in_tmp, timeout=60)
    assert "argument --port: must be >= 1 and <= 65535, got 70000" in line


def test_skipped_images_are_reported_on_stderr(capsys, in_tmp, caltech_tree, search_args, ray_local):
    if ray_local.cluster_resources().get("GPU"):
        pytest.skip("this machine has GPUs")
    main(["search", "alexnet-caltech", *search_args, "--gpus-per-trial", "1"])  # fails after the data step
    out, err = capsys.readouterr()
    assert "warning: skipped" not in out
    assert f"warning: skipped {caltech_tree / '101_ObjectCategories' / 'Faces' / 'image_0100.jpg'}: OSError" in err


@pytest.mark.slow
def test_a_time_budget_shorter_than_any_epoch(capsys, in_tmp, search_args, tracking_uri, ray_local):
    line = _error(capsys, ["search", "alexnet-caltech", *search_args, "--smoke", "--time-budget", "1s"])
    assert "no trial reported val_acc; the time budget ended the search before a trial finished an epoch" in line
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    runs = client.search_runs([client.get_experiment_by_name("alexnet-caltech").experiment_id])
    assert runs and not [r for r in runs if r.info.status == "RUNNING"]
