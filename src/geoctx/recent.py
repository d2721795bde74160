"""A dict that keeps only its most recently used entries.

The per-process caches of compiled graphs (training's trainers, storage's
kept models, the Jacobian runners) are keyed by architecture. A job server
worker evaluates a few architectures and is replaced when its memory grows
(:mod:`geoctx.jobserver`), but a notebook that sweeps many would keep every
architecture's graphs for its lifetime. Each cache is a :class:`Recent`
instead: an architecture dropped from it is only traced again if it comes
back, and every number is the same.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = ["ARCHITECTURES_KEPT", "Recent"]

#: How many architectures each per-process cache of compiled graphs keeps.
#: The default study has 16 training architectures and 8 evaluated ones.
ARCHITECTURES_KEPT = 32


class Recent(OrderedDict):
    """A dict of at most ``size`` entries that drops the least recently used.

    Reading a key (``[]``, ``get``, ``setdefault``) or setting it makes it
    the most recently used.

    Examples
    --------
    >>> cache = Recent(2)
    >>> cache["a"], cache["b"] = 1, 2
    >>> cache["a"]
    1
    >>> cache["c"] = 3  # drops "b", the least recently used
    >>> list(cache)
    ['a', 'c']
    """

    def __init__(self, size: int = ARCHITECTURES_KEPT):
        if int(size) != size or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        super().__init__()
        self.size = int(size)

    def __getitem__(self, key):
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def copy(self) -> Recent:
        """A copy of the same size and order; reading this one is no use."""
        new = Recent(self.size)
        for key, value in OrderedDict.items(self):
            OrderedDict.__setitem__(new, key, value)
        return new

    def __reduce__(self):
        return type(self), (self.size,), None, None, iter(OrderedDict.items(self))

    def get(self, key, default=None):
        if key not in self:
            return default
        return self[key]

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]
