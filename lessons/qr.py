"""QR codes drawn on the server (segno), so a class can scan a link with no network access."""

import segno
from django.utils.safestring import mark_safe


def qr_svg(text, scale=8):
    qr = segno.make(text, error="m")
    # segno draws paths only: the text is encoded as modules, never written into the markup.
    return mark_safe(qr.svg_inline(scale=scale, dark="#111", light="#fff", border=2, omitsize=True))
