"""A decorator registry that refuses duplicates, as torchvision's register_model does."""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

from tunebench import TunebenchError

F = TypeVar("F", bound=Callable)


class Registry(Generic[F]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, F] = {}

    def register(self, name: str) -> Callable[[F], F]:
        def decorator(fn: F) -> F:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is already registered")
            self._items[name] = fn
            return fn
        return decorator

    def get(self, name: str) -> F:
        try:
            return self._items[name]
        except KeyError:
            raise TunebenchError(f"unknown {self.kind} '{name}' (known: {', '.join(self.names())})") from None

    def names(self) -> list[str]:
        return sorted(self._items)
