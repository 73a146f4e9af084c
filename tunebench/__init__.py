"""tunebench: hyperparameter search for image classification on Ray Tune, Optuna and MLflow."""

import os

__version__ = "0.1.0"

# PyTorch's CPU allocator asks for transparent huge pages for its large blocks (it reads this at its first large
# allocation): a fresh batch or activation then costs a fraction of the page faults. Measured on a 64-image
# 224 px batch: uint8 -> float 12.5 -> 7.6 ms, batch augmentation 43 -> 29 ms. THP_MEM_ALLOC_ENABLE=0 turns it off.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")


class TunebenchError(Exception):
    """An error the user can fix: the CLI prints its message on one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
