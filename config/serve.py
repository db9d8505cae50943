"""daphne with Coldstart's WebSocket limits:
`python -m config.serve [daphne options] config.asgi:application`.

daphne accepts WebSocket messages up to 1 MiB unless told otherwise, and closes the socket on a
larger one: a playground event of 2 MB would vanish. This starts daphne's own command line with
settings.WEBSOCKET_MAX_MESSAGE_BYTES as the default message and frame size (an explicit
--websocket-max-message-size still wins)."""

import os
import sys


def command_line():
    """daphne's CommandLineInterface, its WebSocket size defaults taken from the settings."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from daphne.cli import CommandLineInterface
    from django.conf import settings

    cli = CommandLineInterface()
    size = settings.WEBSOCKET_MAX_MESSAGE_BYTES
    cli.parser.set_defaults(websocket_max_message_size=size, websocket_max_frame_size=size)
    return cli


def main(argv=None):
    command_line().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
