"""Lesson Markdown to safe HTML: Markdown renders, nh3 removes anything executable."""

import markdown
import nh3
from django.utils.safestring import mark_safe

TAGS = {
    "p",
    "a",
    "em",
    "strong",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "br",
    "span",
    "kbd",
}


def render_markdown(text):
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables"], output_format="html")
    return mark_safe(  # noqa: S308 - sanitised just above by nh3 (no script, no handlers, no styles)
        nh3.clean(
            html,
            tags=TAGS,
            attributes={"a": {"href", "title"}, "code": {"class"}},
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )
