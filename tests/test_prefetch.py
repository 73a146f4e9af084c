"""`tunebench prefetch`: the dataset and the ImageNet weights in place once, for nodes without internet."""

from __future__ import annotations

import socket

import pytest

from tests.fixture_data import build_cifar_batches
from tunebench.cli import main


def _online() -> bool:
    try:
        with socket.create_connection(("download.pytorch.org", 443), timeout=3):
            return True
    except OSError:
        return False


def test_prefetch_finds_the_data_and_needs_no_weights_for_a_scratch_model(tmp_path, capsys):
    data = build_cifar_batches(tmp_path / "cifar")
    assert main(["prefetch", "cnn-cifar10", "--data-dir", str(data)]) == 0
    assert "data and weights are in place" in capsys.readouterr().out


def test_prefetch_offline_says_which_weights_file_goes_where(tmp_path, caltech_tree, monkeypatch, capsys):
    if _online():
        pytest.skip("this machine can download: the offline message cannot be checked")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code = main(["prefetch", "alexnet-caltech", "--data-dir", str(caltech_tree)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "alexnet-owt-7be5be79.pth" in err[0] and str(tmp_path / "torch") in err[0]
