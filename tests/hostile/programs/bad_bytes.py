# Attack: write bytes that are not valid UTF-8 and terminal escape sequences straight
# to fd 1 with os.write (bypassing Python's text layer): clear-screen and colour codes,
# a bell, an OSC window-title sequence, a carriage return trick, and lone \xff/\xfe
# bytes. Expected: log lines are valid text: invalid bytes become U+FFFD and control
# characters are shown as visible "\x1b"-style escapes, never passed on raw.
import os


def handler(event, context):
    os.write(1, b"bad \xff\xfe utf8\n")
    os.write(1, b"\x1b[2J\x1b[31mred\x07\n")
    os.write(1, b"\x1b]0;owned title\x07visible\n")
    os.write(1, b"fake\rEND\n")
    return "written"
