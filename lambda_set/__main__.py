"""``python -m lambda_set compile`` regenerates the set files; ``install`` installs them for the
test's interpreter (a no-op while they are current); ``interpreter`` says which one that is."""

from __future__ import annotations

import argparse


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m lambda_set", description=__doc__)
    parser.add_argument("command", choices=("compile", "install", "interpreter"))
    command = parser.parse_args().command
    if command == "compile":
        from lambda_set.resolve import regenerate

        regenerate()
    elif command == "install":
        from lambda_set.install import install

        install()
    else:
        from lambda_set.interpreter import find

        print(find().describe())


if __name__ == "__main__":
    main()
