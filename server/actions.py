"""``python -m server.actions [rasa_sdk options]`` — the Rasa action server over the process's
container: ``bootstrap`` once, then rasa_sdk's own server with the ``nlu.actions`` package.
"""

from __future__ import annotations

import sys

from dotenv import load_dotenv
from rasa_sdk import utils
from rasa_sdk.endpoint import create_argument_parser, run

from bot import container
from nlu.actions.failsafe import FailSafeExecutor

from .bootstrap import bootstrap


def main(argv: list[str]) -> None:
    load_dotenv()
    container.install(bootstrap())
    args = create_argument_parser().parse_args(["--actions", "nlu.actions", *argv])
    utils.configure_colored_logging(args.loglevel)
    executor = FailSafeExecutor()  # an action that raises answers with an apology
    executor.register_package("nlu.actions")
    run(
        executor,
        args.port,
        args.cors,
        args.ssl_certificate,
        args.ssl_keyfile,
        args.ssl_password,
        args.auto_reload,
        args.endpoints,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
