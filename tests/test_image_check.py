"""The image check: a limited (smoke) build decodes only the images it uses, and verdicts are remembered by path,
size and modification time, so a repeated build decodes only new or changed files. Real JPEGs, a real store."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import build_caltech_tree
from tests.fixture_data import all_samples, at_once, build_dogs_vs_cats, truncate
from tunebench.data import build_dataset
from tunebench.data.checked import CheckedImages, store_path
from tunebench.data.images import QUEUED_PER_THREAD, find_unreadable, map_images


@pytest.fixture
def own_cache(tmp_path, monkeypatch) -> Path:
    """A store of checked images of this test alone (the session's is shared by every test)."""
    monkeypatch.setenv("TUNEBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def remembered() -> dict[str, str | None]:
    """{path: None or the reason} as the store holds it."""
    with sqlite3.connect(store_path()) as db:
        return dict(db.execute("SELECT path, problem FROM checked"))


def used(splits) -> set[str]:
    return {path for path, _ in all_samples(splits)}


def test_a_limited_build_checks_only_the_images_it_uses(tmp_path, own_cache):
    root = build_dogs_vs_cats(tmp_path / "data")  # 41 files; cat.666.jpg is truncated
    small = build_dataset("dogs-vs-cats", root, limit_per_class=2)
    assert set(remembered()) == used(small) and len(used(small)) == 12  # 2 per class in each split, no more
    unused = sorted(str(p) for p in (root / "train").iterdir() if str(p) not in used(small))
    assert str(root / "train" / "cat.666.jpg") in unused and small.skipped == []  # never opened: not reported

    for path in unused:  # what a smoke run does not use cannot stop it
        truncate(Path(path))
    again = build_dataset("dogs-vs-cats", root, limit_per_class=2)
    assert (again.train, again.val, again.test, again.skipped) == (small.train, small.val, small.test, [])


def test_an_unreadable_image_among_those_used_is_skipped_and_replaced(tmp_path, own_cache):
    root = build_dogs_vs_cats(tmp_path / "data")
    small = build_dataset("dogs-vs-cats", root, limit_per_class=2)
    broken = sorted(path for path, label in small.train if label == 0)[0]
    truncate(Path(broken))
    again = build_dataset("dogs-vs-cats", root, limit_per_class=2)
    assert [path for path, _ in again.skipped] == [broken] and "truncated" in again.skipped[0][1]
    for part in (again.train, again.val, again.test):
        assert Counter(label for _, label in part) == {0: 2, 1: 2}  # every class still has its limit
    [replacement] = used(again) - used(small)
    assert remembered()[replacement] is None and remembered()[broken] == again.skipped[0][1]


def test_without_a_limit_every_image_is_checked_before_the_split(tmp_path, own_cache):
    root = build_dogs_vs_cats(tmp_path / "data")
    full = build_dataset("dogs-vs-cats", root)
    corrupt = str(root / "train" / "cat.666.jpg")
    assert [path for path, _ in full.skipped] == [corrupt] and len(remembered()) == 41
    assert corrupt not in used(full)


def test_a_repeated_build_checks_only_new_or_changed_files(tmp_path, own_cache, capsys):
    root = tmp_path / "caltech"
    odd = build_caltech_tree(root)
    lines: list[str] = []
    first = build_dataset("caltech101", root, progress=lines.append)
    total = len(all_samples(first)) + len(first.skipped)
    assert lines == [f"checking {total} images of caltech101"]
    assert capsys.readouterr().out.startswith(f"checking caltech101: {total} images in ")  # Progress' closing line

    lines.clear()
    second = build_dataset("caltech101", root, progress=lines.append)
    assert lines == [f"{total} images of caltech101: checked before"] and capsys.readouterr().out == ""
    assert second.skipped == first.skipped  # the truncated JPEG's verdict, remembered with its reason

    touched, replaced = root / "101_ObjectCategories" / "ant" / "image_0001.jpg", \
        root / "101_ObjectCategories" / "airplanes" / "image_0002.jpg"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    truncate(replaced)  # a good file replaced by a broken one: its size changes
    lines.clear()
    third = build_dataset("caltech101", root, progress=lines.append)
    assert lines == [f"checking 2 images of caltech101 ({total - 2} more checked before)"]
    assert capsys.readouterr().out.startswith("checking caltech101: 2 images in ")
    assert dict(third.skipped).keys() == {str(odd["truncated"]), str(replaced)}
    assert str(touched) in used(third)


def test_a_damaged_store_is_built_again(tmp_path, own_cache):
    root = tmp_path / "caltech"
    odd = build_caltech_tree(root)
    store_path().parent.mkdir(parents=True)
    store_path().write_bytes(b"not a database, half a page of something\n" * 50)
    splits = build_dataset("caltech101", root)
    assert dict(splits.skipped).keys() == {str(odd["truncated"])}
    assert len(remembered()) == len(all_samples(splits)) + 1


def test_a_store_that_cannot_be_written_leaves_the_check_without_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be\n")
    monkeypatch.setenv("TUNEBENCH_CACHE", str(blocker))
    odd = build_caltech_tree(tmp_path / "caltech")
    paths = [str(p) for p in (tmp_path / "caltech" / "101_ObjectCategories" / "Faces").glob("*.jpg")]
    assert find_unreadable(paths).keys() == {str(odd["truncated"])}


def _check_in_process(paths: list[str], cache: str, barrier, results) -> None:
    os.environ["TUNEBENCH_CACHE"] = cache
    barrier.wait()
    results.put(sorted(find_unreadable(paths)))


def test_two_processes_check_at_once(tmp_path, own_cache):
    odd = build_caltech_tree(tmp_path / "caltech")
    paths = sorted(str(p) for p in (tmp_path / "caltech" / "101_ObjectCategories").rglob("*.jpg"))
    found = at_once(_check_in_process, paths, str(own_cache))
    assert found == [[str(odd["truncated"])]] * 2
    assert set(remembered()) == set(paths)


def test_recall_says_what_is_remembered_and_what_is_to_be_checked(tmp_path, own_cache):
    odd = build_caltech_tree(tmp_path / "caltech")
    paths = sorted(str(p) for p in (tmp_path / "caltech" / "101_ObjectCategories").rglob("*.jpg"))
    reasons = find_unreadable(paths)
    assert reasons.keys() == {str(odd["truncated"])}

    changed, missing = Path(paths[0]), str(tmp_path / "caltech" / "gone.jpg")
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    problems, todo = CheckedImages().recall(paths + [missing])
    assert problems == reasons  # a remembered unreadable file comes back with its reason, readable ones not at all
    assert todo == {str(changed): (changed.stat().st_size, changed.stat().st_mtime_ns), missing: None}


def test_a_file_given_under_two_spellings_is_checked_under_both(tmp_path, own_cache, monkeypatch):
    odd = build_caltech_tree(tmp_path / "caltech")
    monkeypatch.chdir(tmp_path)
    truncated = str(odd["truncated"])
    relative = os.path.relpath(truncated)
    for _ in range(2):  # the first check, then from the store
        assert find_unreadable([truncated, relative]).keys() == {truncated, relative}


def test_images_reach_the_threads_a_few_at_a_time():
    """However many images, only a few per thread are queued at once (the pool's bookkeeping does not grow with
    the dataset): when image i is decoded, at most QUEUED_PER_THREAD per thread more have been taken."""
    taken: list[int] = []
    lead: list[int] = []

    def items():
        for i in range(3000):
            taken.append(i)
            yield i

    def decode(i: int) -> int:
        lead.append(len(taken) - i)
        return -i

    assert map_images(decode, items(), "checking", threads=2) == [-i for i in range(3000)]  # in order
    assert max(lead) <= 2 * QUEUED_PER_THREAD + 1
