"""`make run`'s server: daphne's own command line, with Coldstart's WebSocket limit and its
access log written through logging.

    python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application

- daphne accepts WebSocket messages up to 1 MiB unless told otherwise, and closes the socket on
  a larger one: a playground event of 2 MB would vanish. settings.WEBSOCKET_MAX_MESSAGE_BYTES
  becomes the default message and frame size (an explicit --websocket-max-message-size wins).
- Each request line carries the timestamp, level and logger (JSON with LOG_FORMAT=json) instead
  of daphne's raw NCSA lines on stdout.
"""

import logging
import os
import sys

access = logging.getLogger("daphne.access")


def command_line():
    """daphne's CommandLineInterface, its WebSocket size defaults taken from the settings and
    its access log sent through logging."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import daphne.cli
    from daphne.access import AccessLogGenerator
    from django.conf import settings

    class LoggedAccess(AccessLogGenerator):
        def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
            access.info('%s "%s" %s %s', host, request, status or "-", length or "-")

    daphne.cli.AccessLogGenerator = LoggedAccess  # the name the command line builds its log with
    cli = daphne.cli.CommandLineInterface()
    size = settings.WEBSOCKET_MAX_MESSAGE_BYTES
    cli.parser.set_defaults(websocket_max_message_size=size, websocket_max_frame_size=size)
    return cli


def main(argv=None):
    command_line().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
