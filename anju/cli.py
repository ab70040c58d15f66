"""The `anju` console script (declared in pyproject.toml); the work is in anju.core.commandline."""

import sys


def main(argv: list[str] | None = None) -> int:
    from anju.core.commandline import main as run

    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
