"""Studies as data: every shipped study's rows are valid configurations, references pick the report row that ran
a configuration (and none for one it never ran), tables put the report's figures beside the matching rows, and the
search methods the studies brought (oneway, single) plan what they say."""

from __future__ import annotations

import math

import pytest

from search_spaces import BENCHMARKS
from search_spaces.studies import STUDIES, get_study
from tunebench import TunebenchError
from tunebench.cli import main
from tunebench.hparams import HPARAMS
from tunebench.search import SearchOptions
from tunebench.search.plan import plan_search
from tunebench.references import match_reference
from tunebench.study import Row, Study, Table, config_key, one_factor, product, row_config
from tunebench.study_tables import RowResult, dry_run, table_frame


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_row_is_a_valid_configuration_of_its_benchmark(name):
    study = STUDIES[name]
    for table in study.tables:
        assert table.rows, table.id
        for row in table.rows:
            benchmark = BENCHMARKS[row.benchmark or table.benchmark]
            for key, value in {**table.base, **row.values}.items():
                assert key in benchmark.defaults, (table.id, row.label, key)
                HPARAMS[key].check(key, value, where=f"{name} {table.id}")
            for smoke in (False, True):
                config = row_config(benchmark, table, row, smoke=study.smoke if smoke else None)
                assert config["epochs"] >= 1 and config["model"]
                if smoke:  # --smoke is offline: random weights only
                    assert config.get("weights", "none") == "none", (table.id, row.label)


def test_the_issue_s_studies_are_shipped_with_the_report_s_tables():
    assert set(STUDIES) == {"alexnet-caltech", "cnn-catsdogs", "cnn-cifar10", "featx-cifar5", "resnet50-artworks"}
    alexnet = [t.id for t in STUDIES["alexnet-caltech"].tables]
    assert alexnet == ["T3.2", "T3.3", "T3.4", "T3.5", "T3.6", "T3.7", "T3.8", "T3.9", "T3.10", "T3.11", "T3.12",
                       "T3.13", "T3.14", "T3.16"]
    t33 = STUDIES["alexnet-caltech"].table("T3.3")
    assert [(r.values["lr"], r.report["val_acc"]) for r in t33.rows] == [(1e-3, 0.09), (1e-2, 0.31), (1e-1, 0.40)]
    t44 = STUDIES["cnn-catsdogs"].table("T4.4")
    assert len(t44.rows) == 8 and {r.values["split"] for r in t44.rows} == {"64/16/20", "80/10/10"}
    assert STUDIES["cnn-catsdogs"].table("T4.6").search is not None
    with pytest.raises(TunebenchError, match="unknown study 'nope'"):
        get_study("nope")


def _alexnet(**values):
    config = dict(BENCHMARKS["alexnet-caltech"].defaults, model="alexnet", epochs=30, seed=0)
    config.update(values)
    return config


def test_reference_matching_picks_the_row_that_ran_the_configuration():
    refs = BENCHMARKS["alexnet-caltech"].reference
    scratch = match_reference(refs, _alexnet())  # the defaults: from scratch, lr 1e-3
    assert scratch.row.endswith("T3.2 default, scratch") and scratch.figures["test_acc"] == 0.09
    tuned = match_reference(refs, _alexnet(lr=0.1))
    assert tuned.figures["test_acc"] == 0.41  # T3.7's test figure, not T3.3's validation-only row
    pretrained = match_reference(refs, _alexnet(weights="imagenet", lr=1e-2, freeze="conv", epochs=5,
                                                limit_per_class=3))  # scale keys do not count
    assert "T3.12" in pretrained.row and pretrained.figures["test_acc"] == 0.84
    # a configuration the report never ran, and one it ran only pretrained
    assert match_reference(refs, _alexnet(lr=0.0234)) is None
    assert match_reference(refs, _alexnet(freeze="conv")) is None
    resnet = match_reference(BENCHMARKS["resnet50-caltech"].reference,
                             dict(BENCHMARKS["resnet50-caltech"].defaults, model="resnet50"))
    assert resnet.figures["test_acc"] == 0.91  # the report's ResNet50 ran pretrained: the benchmark's default now


def test_keep_the_best_references_carry_the_report_s_own_winners():
    refs = [r for r in BENCHMARKS["alexnet-caltech"].reference if " T3.6 " in r.row]
    assert len(refs) == 4
    for ref in refs:  # the report kept step 20 (T3.4) and weight decay 5e-5 (T3.5)
        assert ref.config["step_size"] == 20 and ref.config["weight_decay"] == 5e-5 and ref.config["lr"] == 1e-2


def test_row_kinds_and_carry():
    rows = product({"split": ("64/16/20", "80/10/10"), "color": ("grayscale", "rgb")},
                   {("80/10/10", "rgb"): {"test_acc": 0.8}})
    assert [r.label for r in rows] == ["64/16/20, grayscale", "64/16/20, rgb", "80/10/10, grayscale", "80/10/10, rgb"]
    assert rows[3].report == {"test_acc": 0.8} and rows[0].report == {}
    factor = one_factor({"lr": (0.1, 0.01), "gamma": (0.5,)})
    assert [dict(r.values) for r in factor] == [{"lr": 0.1}, {"lr": 0.01}, {"gamma": 0.5}]
    with pytest.raises(ValueError, match="unknown figures"):
        Row("x", report={"accuracy": 0.9})
    with pytest.raises(ValueError, match="not an earlier table"):
        Study("s", "003", "t", (Table("A", "a", "alexnet-caltech", factor, carry=("B",)),
                                Table("B", "b", "alexnet-caltech", factor)))
    table = Table("A", "a", "alexnet-caltech", factor, base={"lr": 0.5}, max_epochs=7)
    config = row_config(BENCHMARKS["alexnet-caltech"], table, factor[2], {"step_size": 5})
    assert (config["lr"], config["gamma"], config["step_size"], config["epochs"]) == (0.5, 0.5, 5, 7)
    assert config_key({**config, "study_rows": "A x", "precision": "bf16"}) == config_key(config)


def test_a_table_sets_the_report_s_figure_beside_each_row_and_the_difference():
    table = STUDIES["alexnet-caltech"].table("T3.3")
    results = [RowResult(row, "alexnet-caltech", {"lr": row.values["lr"]},
                         {"val_loss": 4.0, "val_acc": acc, "test_loss": 4.1, "test_acc": acc - 0.01, "best_epoch": 2,
                          "epoch_seconds": 1.5})
               for row, acc in zip(table.rows, (0.1, 0.3, 0.5))]
    frame = table_frame(table, results)
    assert list(frame["row"]) == ["lr=0.001", "lr=0.01", "lr=0.1"] and list(frame["lr"]) == [1e-3, 1e-2, 1e-1]
    assert list(frame["report val_acc"]) == [0.09, 0.31, 0.40]
    assert frame["val_acc - report"].round(6).tolist() == [0.01, -0.01, 0.1]
    assert {"test_acc", "test_loss", "best_epoch", "epoch_seconds"} <= set(frame)
    # a row that did not finish keeps its line, its figures empty
    frame = table_frame(table, [RowResult(table.rows[0], "alexnet-caltech", {}, {})])
    assert math.isnan(frame["val_acc"][0]) and frame["report val_acc"][0] == 0.09


def test_dry_run_lists_every_table_and_runs_each_configuration_once():
    text = dry_run(STUDIES["alexnet-caltech"], BENCHMARKS)
    for table in STUDIES["alexnet-caltech"].tables:
        assert f"{table.id}: " in text
    assert "(= T3.3 lr=0.1)" in text  # T3.7's first row is T3.3's run
    assert "trials at most" in text and "epochs in all" in text
    smoke = dry_run(STUDIES["cnn-catsdogs"], BENCHMARKS, smoke=True)
    assert "random search of 2 trials" in smoke


def test_study_command_lists_and_dry_runs(capsys):
    assert main(["study"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in STUDIES)
    assert main(["study", "featx-cifar5", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "vgg16.block4_conv1" in out and "7 trials" in out
    assert main(["study", "nope"]) == 2
    assert "unknown study 'nope'" in capsys.readouterr().err


def test_oneway_and_single_plans(tmp_path):
    benchmark = BENCHMARKS["alexnet-caltech"]
    plan = plan_search(benchmark, SearchOptions(data_dir=tmp_path, search="oneway"))
    assert plan.points[0] == {} and plan.scheduler == "fifo"
    # every other value of each key of the report's grid, once, around the defaults
    expected = sum(len([v for v in values if v != benchmark.defaults[k]]) for k, values in benchmark.grid.items())
    assert plan.num_samples == len(plan.points) == 1 + expected
    assert {"lr": 1e-1} in plan.points and {"gamma": 0.5} in plan.points
    single = plan_search(benchmark, SearchOptions(data_dir=tmp_path, search="single", overrides={"lr": [0.05]}))
    assert single.points == [{}] and single.num_samples == 1 and single.swept == {} and single.config["lr"] == 0.05
    with pytest.raises(TunebenchError, match="runs one configuration"):
        plan_search(benchmark, SearchOptions(data_dir=tmp_path, search="single", overrides={"lr": [0.05, 0.1]}))


def test_rows_is_not_offered_to_search(capsys):
    assert main(["search", "alexnet-caltech", "--search", "rows"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_study_resume_finds_only_its_own_study(tmp_path, capsys):
    import json

    storage = tmp_path / "ray"
    common = ["--storage-path", str(storage), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", "--resume"]
    assert main(["study", "cnn-cifar10", *common]) == 2
    assert f"--resume: no study cnn-cifar10 in {storage} (give --name)" in capsys.readouterr().err
    assert main(["study", "cnn-cifar10", *common, "--name", "nothing"]) == 2
    assert "--resume: no study named 'nothing'" in capsys.readouterr().err
    (storage / "other").mkdir(parents=True)
    (storage / "other" / "tunebench_study.json").write_text(json.dumps(
        {"study": "featx-cifar5", "parent_run_id": "x", "tracking_uri": "sqlite:///m.db"}))
    assert main(["study", "cnn-cifar10", *common, "--name", "other"]) == 2
    assert "'other' is a study featx-cifar5, not cnn-cifar10" in capsys.readouterr().err


def test_an_unwritable_output_is_refused_before_anything_runs(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["study", "cnn-cifar10", "--smoke", "--output", str(blocker / "tables"),
                 "--storage-path", str(tmp_path / "ray"), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert code == 2 and f"cannot write to --output {blocker / 'tables'}" in capsys.readouterr().err
    assert not (tmp_path / "ray").exists() and not (tmp_path / "m.db").exists()


def test_the_end_of_a_search_names_the_matching_report_row_or_says_there_is_none():
    from tunebench.search.results import reference_line

    alexnet = BENCHMARKS["alexnet-caltech"]
    line = reference_line(alexnet, _alexnet(lr=0.1), {"val_acc": 0.3, "test_acc": 0.5})
    assert line.startswith("report row report 003 T3.7 lr=0.1: val_loss 2.85, val_acc 0.4, test_acc 0.41")
    assert line.endswith("this search's test_acc 0.5 (+0.0900)")
    # a row the report measured on validation only: the search's best val_acc beside it
    line = reference_line(alexnet, _alexnet(lr=0.01, step_size=15), {"val_acc": 0.3})
    assert "T3.4 step_size=15" in line and line.endswith("this search's val_acc 0.3 (+0.0400)")
    assert reference_line(alexnet, _alexnet(lr=0.05), {}) == \
        "report: no matching report row (the report never ran this configuration)"
