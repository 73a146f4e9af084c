"""`tunebench predict`: a logged model (a search's best, or a registered one) on a user's images.

The model comes back from MLflow with the preprocessing it was trained with (its metadata); images are decoded and
transformed exactly as the test split was, in batches, and unreadable files are skipped and reported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable, Sequence

from tunebench import TunebenchError
from tunebench.tracking import MODEL_PATH, Tracker

BATCH = 32
RUN_ID = re.compile(r"[0-9a-f]{32}")


def model_uri(tracker: Tracker, source: str) -> str:
    """The MLflow model a `predict` source names: an MLflow model URI as given (runs:/..., models:/NAME/VERSION),
    a search's run id, or a benchmark (experiment) name for its latest search that logged a model."""
    if source.startswith(("runs:/", "models:/")):
        return source
    if RUN_ID.fullmatch(source):
        return f"runs:/{source}/{MODEL_PATH}"
    uri = tracker.latest_model(source)
    if uri is None:
        known = tracker.client.get_experiment_by_name(source) is not None
        raise TunebenchError(
            f"no model logged for '{source}' in {tracker.uri}: "
            + ("its searches logged none (a search logs its best model when it finishes)" if known else
               "not a benchmark with searches, a run id or an MLflow model URI (runs:/RUN/model, models:/NAME/1)"))
    return uri


def image_files(paths: Sequence[str]) -> list[Path]:
    """The images named: files as given, folders searched recursively for image files (sorted)."""
    from tunebench.data.images import is_image_file

    files: list[Path] = []
    for name in paths:
        path = Path(name).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file() and is_image_file(p)
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.is_file():
            files.append(path)
        else:
            raise TunebenchError(f"{name}: no such file or folder")
    if not files:
        raise TunebenchError(f"no image files in {', '.join(paths)}")
    return files


def predict_images(tracker: Tracker, source: str, paths: Sequence[str],
                   say: Callable[[str], None] = print, warn: Callable[[str], None] = print):
    """Each readable image's predicted class, its confidence and every class's probability (a DataFrame, in file
    order); unreadable files are reported through `warn` and left out."""
    import pandas as pd
    import torch

    from tunebench.data.images import find_unreadable, load_rgb
    from tunebench.data.transforms import preprocessing_transform, resize_side

    files = image_files(paths)
    uri = model_uri(tracker, source)
    model, metadata = tracker.load_model(uri)
    classes, steps = metadata.get("classes"), metadata.get("preprocessing")
    if not classes or not steps:
        raise TunebenchError(f"{uri} was not logged by tunebench: its metadata has no classes or preprocessing")
    unreadable = find_unreadable([str(f) for f in files], say)  # says how far it got on a large folder
    for path, reason in unreadable.items():
        warn(f"skipped {path}: {reason}")
    files = [f for f in files if str(f) not in unreadable]
    if not files:
        raise TunebenchError("none of the images can be read")
    say(f"{uri}: {len(classes)} classes, {len(files)} images")
    transform, decode_side = preprocessing_transform(steps), resize_side(steps["image_size"])  # as the loaders do
    rows = []  # the model was logged in eval mode (a torch.export graph keeps it)
    with torch.inference_mode():
        for start in range(0, len(files), BATCH):
            batch = files[start:start + BATCH]
            images = torch.stack([transform(load_rgb(str(f), decode_side)) for f in batch])
            for path, p in zip(batch, model(images).float()):
                rows.append({"file": str(path), "predicted": classes[int(p.argmax())],
                             "confidence": float(p.max()), **{f"p({c})": float(v) for c, v in zip(classes, p)}})
            if len(files) > 4 * BATCH:
                say(f"predicted {min(start + BATCH, len(files))}/{len(files)}")
    return pd.DataFrame(rows)
