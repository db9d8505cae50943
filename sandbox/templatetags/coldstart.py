from django import template

from sandbox.web.presenters import line_kind as _line_kind
from sandbox.web.presenters import render_log_line

register = template.Library()


@register.filter
def line_kind(line):
    return _line_kind(line)


@register.filter
def log_line(line):
    """One log line for the log pane (its kind, level, and a readable form of JSON records)."""
    return render_log_line(line)


@register.filter
def usd(value):
    """Prices of single invocations are tiny: show enough digits to see them."""
    value = float(value or 0)
    if value == 0:
        return "$0"
    if value < 0.01:
        return f"${value:.10f}".rstrip("0")
    return f"${value:,.4f}"


@register.filter
def gbs(value):
    value = float(value or 0)
    if value == 0:
        return "0"
    if value < 1:
        return f"{value:.7f}".rstrip("0")
    return f"{value:,.3f}"


@register.filter
def ms(value):
    return "—" if value is None else f"{float(value):.2f} ms"
