"""Command line: ``python -m xbanku_check {check|bank|fuzz|soak|faults} --help``."""

import argparse
import sys

from . import bank, check, faults, fuzz, soak


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m xbanku_check")
    sub = parser.add_subparsers(dest="command", required=True)
    commands = {"check": check, "bank": bank, "fuzz": fuzz, "soak": soak, "faults": faults}
    for name, module in commands.items():
        module.add_arguments(sub.add_parser(name, help=module.__doc__.splitlines()[0]))
    args = parser.parse_args()
    return commands[args.command].main(args)


if __name__ == "__main__":
    sys.exit(main())
