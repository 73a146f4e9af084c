"""Getting a dataset's files: a torchvision download, and the error that says where to put them by hand."""

from __future__ import annotations

from pathlib import Path

from tunebench import TunebenchError


class DatasetNotFound(TunebenchError):
    """A dataset's files are not in the data folder: `missing` says what was expected there, `remedy` how to get it.

    build_dataset adds to the remedy that the dataset cannot be downloaded automatically when --download asked
    for one that declares no download.
    """

    def __init__(self, missing: str, remedy: str) -> None:
        super().__init__(f"{missing} ({remedy})")
        self.missing, self.remedy = missing, remedy

    def __reduce__(self):  # pickled with both parts (Ray carries errors between processes)
        return type(self), (self.missing, self.remedy)

    def cannot_download(self) -> DatasetNotFound:
        return DatasetNotFound(self.missing, f"it cannot be downloaded automatically; {self.remedy}")


def torchvision_download(dataset_class: str, data_dir: Path, title: str, by_hand: str) -> None:
    """Fetch and unpack a dataset with torchvision.datasets.`dataset_class`(data_dir, download=True) (needs
    internet). Any failure is a one-line TunebenchError naming `title`, the cause, and then `by_hand`: where to
    download the files from and where to unpack them."""
    import torchvision.datasets

    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        getattr(torchvision.datasets, dataset_class)(root=str(data_dir), download=True)
    except Exception as exc:  # URLError, HTTPError, checksum or disk errors: one line for the user
        raise TunebenchError(f"could not download {title} ({type(exc).__name__}: {exc}); {by_hand}") from None
