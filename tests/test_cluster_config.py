"""cluster.yaml and docs/cluster-onprem.yaml: checked the way `ray up` checks them, without any cloud.

`ray up` (ray.autoscaler._private.commands._bootstrap_config) runs prepare_config (merge the provider's
defaults.yaml, setup-command merging, docker check, per-type min/max workers), imports the provider, lets it
fill in node resources, then validate_config (Ray's ray-schema.json plus its own consistency checks), then the
provider's bootstrap_config. For the local (on-prem) provider every step is offline, so the whole
_bootstrap_config runs here. For AWS, importing the provider needs boto3, and filling resources and bootstrapping
(describe_instance_types, IAM role, key pair, subnets, security group) call the AWS API: those steps are left out
and prepare_config + validate_config run alone. cluster.yaml writes every node type's resources out, so the
resource fill-in (the only step between them) has nothing left to add.

Beyond the schema, the tests pin what tunebench needs from a cluster: GPU workers whose declared resources match
their instance type, a head that runs no trials, shared storage at /mnt/shared for data, weights and Tune's
storage_path, an MLflow server started on the head, `ray start` lines that Ray's own CLI parses, and shell
commands that bash parses. Nothing here starts a process or opens a connection.
"""

from __future__ import annotations

import copy
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
import ray
import yaml
from ray.autoscaler._private.commands import _bootstrap_config
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[1]
AWS_YAML = ROOT / "cluster.yaml"
ONPREM_YAML = ROOT / "docs" / "cluster-onprem.yaml"
WALKTHROUGH = ROOT / "docs" / "cluster.md"
SHARED = "/mnt/shared"

# vCPUs and NVIDIA GPUs of the EC2 GPU instance types a tunebench cluster is likely to use (AWS's published specs).
GPU_INSTANCES = {
    "g4dn.xlarge": (4, 1), "g4dn.2xlarge": (8, 1), "g4dn.12xlarge": (48, 4), "g4dn.metal": (96, 8),
    "g5.xlarge": (4, 1), "g5.2xlarge": (8, 1), "g5.4xlarge": (16, 1), "g5.12xlarge": (48, 4), "g5.48xlarge": (192, 8),
    "g6.xlarge": (4, 1), "g6.2xlarge": (8, 1), "g6.12xlarge": (48, 4), "g6.48xlarge": (192, 8),
    "p3.2xlarge": (8, 1), "p3.8xlarge": (32, 4), "p3.16xlarge": (64, 8), "p4d.24xlarge": (96, 8),
}
COMMAND_LISTS = ("initialization_commands", "setup_commands", "head_setup_commands", "worker_setup_commands",
                 "head_start_ray_commands", "worker_start_ray_commands")
SHELL_STOP = re.compile(r"^(>|<|&|;|\||\)|2>)")


def load(path: Path) -> dict[str, Any]:
    with open(path) as f:
        return yaml.safe_load(f)


def ray_up_offline(config: dict[str, Any]) -> dict[str, Any]:
    """The part of `ray up`'s config handling that needs no cloud; raises what `ray up` would raise."""
    config = copy.deepcopy(config)
    if config["provider"]["type"] == "local":
        return _bootstrap_config(config, no_config_cache=True)
    prepared = prepare_config(config)
    validate_config(prepared)
    return prepared


def commands(config: dict[str, Any], *lists: str) -> list[str]:
    return [command for name in (lists or COMMAND_LISTS) for command in config.get(name) or []]


def arguments_after(command: str, program: str, subcommand: str) -> list[str]:
    """The arguments of `... program subcommand ARGS > log &` inside a shell line, e.g. ray start's."""
    tokens = shlex.split(command)
    for i, token in enumerate(tokens[:-1]):
        if (token == program or token.endswith("/" + program)) and tokens[i + 1] == subcommand:
            args = []
            for arg in tokens[i + 2:]:
                if SHELL_STOP.match(arg):
                    break
                args.append(arg)
            return args
    raise AssertionError(f"no `{program} {subcommand}` in: {command}")


def one_command(config: dict[str, Any], lists: tuple[str, ...], needle: str) -> str:
    found = [c for c in commands(config, *lists) if needle in c]
    assert len(found) == 1, f"expected one command with {needle!r} in {lists}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def aws() -> dict[str, Any]:
    return load(AWS_YAML)


@pytest.fixture(scope="module")
def onprem() -> dict[str, Any]:
    return load(ONPREM_YAML)


@pytest.fixture(params=[AWS_YAML, ONPREM_YAML], ids=["aws", "onprem"])
def any_config(request) -> dict[str, Any]:
    return load(request.param)


# --- Ray's own validation ------------------------------------------------------------------------------------

def test_aws_config_passes_ray_validation(aws):
    prepared = ray_up_offline(aws)
    assert prepared["provider"]["type"] == "aws"
    assert prepared["head_node_type"] in prepared["available_node_types"]
    # prepare_config puts setup_commands before the head's and the workers' own commands, as `ray up` runs them
    assert prepared["head_setup_commands"][: len(aws["setup_commands"])] == aws["setup_commands"]
    for node_type in prepared["available_node_types"].values():
        assert node_type["min_workers"] <= node_type["max_workers"] <= prepared["max_workers"]


def test_onprem_config_passes_ray_up_bootstrap(onprem):
    resolved = ray_up_offline(onprem)
    (node_type,) = resolved["available_node_types"].values()  # the local provider's single node type
    workers = len(onprem["provider"]["worker_ips"])
    assert node_type["min_workers"] == node_type["max_workers"] == resolved["max_workers"] == workers
    assert onprem["provider"]["head_ip"] not in onprem["provider"]["worker_ips"]


def _unknown_key(c):
    c["gpu_per_trial"] = 1


def _unknown_head_type(c):
    c["head_node_type"] = "no_such_type"


def _fractional_gpu(c):
    c["available_node_types"]["gpu_1x_a10g"]["resources"]["GPU"] = 0.5


def _no_resources(c):
    del c["available_node_types"]["gpu_4x_a10g"]["resources"]


def _too_many_min_workers(c):
    c["max_workers"] = 0


def _command_not_a_list(c):
    c["head_setup_commands"] = "mlflow server"


@pytest.mark.parametrize("breaking, error", [
    (_unknown_key, jsonschema.ValidationError),
    (_unknown_head_type, ValueError),
    (_fractional_gpu, jsonschema.ValidationError),
    (_no_resources, jsonschema.ValidationError),
    (_too_many_min_workers, ValueError),
    (_command_not_a_list, (jsonschema.ValidationError, TypeError)),
], ids=["unknown-top-level-key", "head-type-not-defined", "fractional-gpu", "no-resources",
        "min-workers-above-max", "command-not-a-list"])
def test_broken_aws_config_is_rejected(aws, breaking, error):
    broken = copy.deepcopy(aws)
    breaking(broken)
    with pytest.raises(error):
        ray_up_offline(broken)


def test_onprem_config_with_node_types_is_rejected(onprem, aws):
    """Ray's local provider defines its own node types: writing them is an error, as `ray up` reports."""
    broken = copy.deepcopy(onprem)
    broken["available_node_types"] = copy.deepcopy(aws["available_node_types"])
    broken["head_node_type"] = aws["head_node_type"]
    with pytest.raises(click.ClickException):
        ray_up_offline(broken)


# --- what tunebench needs from the AWS cluster ------------------------------------------------------------

def test_aws_cluster_basics(aws):
    assert aws["cluster_name"] == "tunebench"
    region = aws["provider"]["region"]
    zones = aws["provider"]["availability_zone"].split(",")
    assert zones and all(zone.startswith(region) for zone in zones), "availability zones must be in the region"
    assert aws["idle_timeout_minutes"] > 0
    assert aws["auth"]["ssh_user"]
    assert not aws["docker"].get("image") and not aws["docker"].get("container_name"), "docker is documented as off"


def test_aws_workers_request_gpus_matching_their_instances(aws):
    head = aws["head_node_type"]
    workers = {name: t for name, t in aws["available_node_types"].items() if name != head}
    assert len(workers) >= 2, "a 1-GPU and a multi-GPU worker type"
    for name, node_type in workers.items():
        instance = node_type["node_config"]["InstanceType"]
        assert instance in GPU_INSTANCES, f"{name}: {instance} is not a known GPU instance type"
        cpus, gpus = GPU_INSTANCES[instance]
        assert node_type["resources"].get("GPU") == gpus, f"{name}: {instance} has {gpus} GPUs"
        assert node_type["resources"].get("CPU") == cpus, f"{name}: {instance} has {cpus} vCPUs"
        assert node_type["node_config"].get("ImageId"), f"{name}: needs a GPU AMI with Python >= 3.11"
    assert any(gpus > 1 for gpus in (GPU_INSTANCES[t["node_config"]["InstanceType"]][1] for t in workers.values()))
    # tunebench search checks the cluster's GPUs when it starts, so one GPU worker is kept up
    assert sum(t.get("min_workers", 0) for t in workers.values()) >= 1


def test_aws_head_runs_no_trials(aws):
    head = aws["available_node_types"][aws["head_node_type"]]
    assert head["resources"] == {"CPU": 0}
    assert head["node_config"]["InstanceType"] not in GPU_INSTANCES
    assert head.get("max_workers", 0) == 0


# --- both configs: shared storage, MLflow, Ray start, shell syntax --------------------------------------------

def test_setup_mounts_shared_storage_and_installs_tunebench(any_config):
    setup = " \n".join(commands(any_config, "setup_commands"))
    mount = one_command(any_config, ("setup_commands",), "mount -t nfs4")
    assert shlex.split(mount.split("mount -t nfs4", 1)[1].split(")")[0])[-1] == SHARED
    for variable, folder in [("TORCH_HOME", "torch"), ("TUNEBENCH_DATA", "data")]:
        assert f"export {variable}={SHARED}/{folder}" in setup
    assert f"{SHARED}/ray_results" in setup
    assert "MLFLOW_TRACKING_URI=http://${RAY_HEAD_IP:-127.0.0.1}:5000" in setup
    assert "pip install -q -e ." in setup
    # `ray up`, the cluster and `ray job submit` must run the same Ray version
    pins = re.findall(r'"ray\[[a-z,]+\]==([0-9.]+)"', setup)
    assert pins == [ray.__version__], f"pin ray[default]=={ray.__version__} in setup_commands (found {pins})"
    for start in commands(any_config, "head_start_ray_commands", "worker_start_ray_commands"):
        assert start.startswith("source ~/tunebench.env"), "the raylet and its trials must inherit TORCH_HOME etc."


def test_head_setup_starts_an_mlflow_server_on_the_shared_mount(any_config):
    from mlflow.cli import server

    command = one_command(any_config, ("head_setup_commands",), "mlflow server")
    assert "nohup" in command and "&" in command, "the server must run in the background"
    params = server.make_context("server", arguments_after(command, "mlflow", "server")).params  # mlflow's own parser
    assert params["host"] == "0.0.0.0" and params["port"] == 5000
    store = params["backend_store_uri"]
    assert store.startswith(f"sqlite:///{SHARED}/") or store.startswith("postgresql://"), store
    assert params["artifacts_destination"].startswith(f"{SHARED}/")
    assert not [c for c in commands(any_config, "setup_commands", "worker_setup_commands") if "mlflow server" in c]


def test_ray_start_commands_parse_with_rays_cli(any_config):
    from ray.scripts.scripts import start

    head = start.make_context("start", arguments_after(
        one_command(any_config, ("head_start_ray_commands",), "ray start"), "ray", "start")).params
    assert head["head"] and head["port"] == 6379 and head["dashboard_host"] == "0.0.0.0"
    assert head["autoscaling_config"] == "~/ray_bootstrap_config.yaml"
    worker = start.make_context("start", arguments_after(
        one_command(any_config, ("worker_start_ray_commands",), "ray start"), "ray", "start")).params
    assert worker["address"] == "$RAY_HEAD_IP:6379" and not worker["head"]
    for name in ("head_start_ray_commands", "worker_start_ray_commands"):
        assert "ray stop" in any_config[name][0]


def test_every_command_is_valid_bash(any_config):
    for command in commands(any_config):
        check = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)  # parse only
        assert check.returncode == 0, f"{command}\n{check.stderr}"


def test_walkthrough_uses_the_shared_mount():
    text = WALKTHROUGH.read_text()
    for needle in ("ray up cluster.yaml", "ray down cluster.yaml", "docs/cluster-onprem.yaml",
                   f"--storage-path {SHARED}/ray_results", f"--data-dir {SHARED}/data", "--gpus-per-trial 0.5"):
        assert needle in text, needle
