"""``python -m server.actions [rasa_sdk options]`` — the Rasa action server over the process's
container: ``bootstrap`` once, then rasa_sdk's own server with the ``nlu.actions`` package.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv
from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser

from bot import container

from .bootstrap import bootstrap


def main(argv: list[str]) -> None:
    load_dotenv()
    container.install(bootstrap())
    main_from_args(create_argument_parser().parse_args(["--actions", "nlu.actions", *argv]))


if __name__ == "__main__":
    main(sys.argv[1:])
