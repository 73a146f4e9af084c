"""tunebench: hyperparameter search for image classification on Ray Tune, Optuna and MLflow."""

__version__ = "0.1.0"


class TunebenchError(Exception):
    """An error the user can fix: the CLI prints its message on one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
