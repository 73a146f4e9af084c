"""A search on a real multi-node Ray cluster on this machine (Ray's own cluster_utils: separate raylets)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_smoke_search_places_trials_on_two_nodes(tmp_path, caltech_session_tree):
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tunebench", "search", "alexnet-caltech", "--smoke", "--address", cluster.address,
             "--data-dir", str(caltech_session_tree), "--tracking-uri", f"sqlite:///{tmp_path / 'mlruns.db'}",
             "--storage-path", str(tmp_path / "ray"), "--name", "two-nodes", "--max-epochs", "1",
             # a trial this short can end before the other node's worker has started; a reused worker would
             # then take the second trial on the first node
             "--no-reuse-actors"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert result.returncode == 0, result.stderr[-2000:]
        nodes = {json.loads(line)["node_id"] for path in (tmp_path / "ray" / "two-nodes").glob("trial_*/result.json")
                 for line in path.read_text().splitlines() if line.strip()}
        assert len(nodes) == 2  # one CPU per node, one CPU per trial: the two trials ran side by side on two nodes
    finally:
        cluster.shutdown()
