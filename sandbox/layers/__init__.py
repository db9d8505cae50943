"""Lambda layers: versioned zips of libraries that a function mounts read-only at /opt.

arns.py      layer ARNs: format and parse
archive.py   a zip checked and extracted without trusting it (standard library only)
store.py     LAYERS_ROOT on the host: extracted versions, merged /opt directories
publish.py   a new layer version of a learner (or a public, bundled one)
attach.py    a function's ordered list of layers: checked on save, turned into its /opt
bundled.py   the layers `make` builds from pinned wheels, registered as public layers
"""

from django.conf import settings

from sandbox.layers.archive import ZipLimits
from sandbox.layers.store import LayerStore


def layer_store():
    """The host's layer store, from settings.LAYERS (read at each call: tests override it)."""
    return LayerStore(settings.LAYERS["ROOT"], ZipLimits.from_table(settings.LAYERS))
