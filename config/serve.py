"""`make run`'s server: daphne's own command line, with its access log written through logging
(so each request line carries the timestamp, level and logger, or is JSON with LOG_FORMAT=json)
instead of daphne's raw NCSA lines on stdout.

    python -m config.serve -b 127.0.0.1 -p 8000 config.asgi:application
"""

import logging

import daphne.cli
from daphne.access import AccessLogGenerator

access = logging.getLogger("daphne.access")


class LoggedAccess(AccessLogGenerator):
    def write_entry(self, host, date, request, status=None, length=None, ident=None, user=None):
        access.info('%s "%s" %s %s', host, request, status or "-", length or "-")


def main():
    daphne.cli.AccessLogGenerator = LoggedAccess  # the name the command line builds its log with
    daphne.cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
