"""A decorator registry that refuses duplicates and keeps what each entry declares about itself, as torchvision's
register_model and timm's pretrained configs do.

    MODELS = Registry("model", ModelSpec)          # ModelSpec: a frozen dataclass whose first field is `build`
    @MODELS.register("resnet50", imagenet=("resnet50",))
    def resnet50(num_classes, weights="none"): ...
    MODELS.get("resnet50")      # the function
    MODELS.spec("resnet50")     # ModelSpec(build=resnet50, imagenet=("resnet50",), ...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from tunebench import TunebenchError

F = TypeVar("F", bound=Callable)


@dataclass(frozen=True)
class Spec:
    """An entry with nothing declared beside its function."""

    build: Callable


class Registry(Generic[F]):
    def __init__(self, kind: str, spec: type = Spec) -> None:
        self.kind = kind
        self.spec_type = spec
        self._specs: dict[str, Any] = {}

    def register(self, name: str, **declared: Any) -> Callable[[F], F]:
        """A decorator: the function under `name`, with what it declares (the spec type's other fields)."""
        def decorator(fn: F) -> F:
            if name in self._specs:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._specs[name] = self.spec_type(build=fn, **declared)
            return fn
        return decorator

    def spec(self, name: str) -> Any:
        try:
            return self._specs[name]
        except KeyError:
            raise TunebenchError(f"unknown {self.kind} '{name}' (known: {', '.join(self.names())})") from None

    def get(self, name: str) -> F:
        return self.spec(name).build

    def names(self) -> list[str]:
        return sorted(self._specs)

    def specs(self) -> dict[str, Any]:
        return {name: self._specs[name] for name in self.names()}
