"""What the playground's log pane shows of an invocation's log: the handler's first lines up to a
display cap, then only the lines a learner must always see (START, END, REPORT, the timeout and
runtime-exit lines), with a notice counting what is hidden. The stored log keeps everything."""

from sandbox.web.presenters import line_kind

DISPLAY_LINES_CAP = 2000  # handler lines per invocation on the page; the full log stays in the history
OLDER_RUN_LINES_CAP = 200  # an older run rendered with the page: it starts collapsed
ALWAYS_SHOWN = ("platform", "report", "fatal")


def always_shown(line):
    return line_kind(line) in ALWAYS_SHOWN


def cap_notice(cap):
    return (
        f"[coldstart] Display limit: only the first {cap} lines are shown here; START, END, REPORT "
        "and timeout lines still are. The invocation's full log is in the history below."
    )


def hidden_notice(hidden):
    return (
        f"[coldstart] {hidden} more line{'s' if hidden != 1 else ''} not shown here — open this "
        "invocation in the history below for its full log."
    )


def visible_log_lines(lines, cap=DISPLAY_LINES_CAP):
    """The lines to render for a finished log: the first `cap`, a notice, then the lines that
    are always shown."""
    if len(lines) <= cap:
        return list(lines)
    rest = lines[cap:]
    kept = [line for line in rest if always_shown(line)]
    return [*lines[:cap], hidden_notice(len(rest) - len(kept)), *kept]


class StreamedLog:
    """One invocation's log as it arrives in numbered batches (from the worker's group): which
    lines to send to the page now, how many were hidden, and whether a batch went missing."""

    def __init__(self, cap=DISPLAY_LINES_CAP):
        self.cap = cap
        self.received = 0  # lines of the log accounted for (the next batch should start here)
        self.displayed = 0  # lines sent to the page that counted against the cap
        self.hidden = 0
        self.gap = False

    def feed(self, start, lines):
        """The lines of this batch the page should get (in order, with a notice at the cap)."""
        if start > self.received:
            self.gap = True  # a batch was lost (full channel layer): the stored log is shown at the end
        new = lines[max(0, self.received - start) :]
        self.received = max(self.received, start + len(lines))
        out = []
        for line in new:
            if self.displayed < self.cap:
                self.displayed += 1
                out.append(line)
            elif always_shown(line):
                out.append(line)
            else:
                if self.hidden == 0:
                    out.append(cap_notice(self.cap))
                self.hidden += 1
        return out
