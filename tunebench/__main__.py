"""The `tunebench` command and `python -m tunebench`: a search runs in a child process under a small supervisor
(tunebench.signals); everything else runs here. Kept light: the supervisor imports nothing heavy."""

from __future__ import annotations

import sys

from tunebench.signals import should_supervise, supervise


def main_entry() -> None:
    argv = sys.argv[1:]
    if should_supervise(argv):
        sys.exit(supervise(argv))
    from tunebench.cli import main

    sys.exit(main(argv))


if __name__ == "__main__":
    main_entry()
