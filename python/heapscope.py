"""Take heapscope snapshots from Python.

Under ``heapscope run`` (or with libheapscope.so in LD_PRELOAD), ``snapshot("label")`` takes a
full snapshot of the heap into the process's database and returns its id, so that
``heapscope top``, ``diff``, ``leaks`` and ``pools`` can name it by its label.  Anywhere else the
functions do nothing: the first call warns once with a HeapscopeWarning, and ``snapshot``
returns None, so a program can keep its snapshots in when it runs without heapscope.

The library's C function ``heapscope_snapshot`` is looked up once, on first use, in the
process's global symbols; see heapscope(7).
"""

import ctypes
import warnings

__all__ = ["HeapscopeWarning", "snapshot", "tracing"]


class HeapscopeWarning(RuntimeWarning):
    """Warned once when a snapshot cannot be taken: heapscope is not tracing this process."""


# heapscope_snapshot once looked up: None before the first lookup, False if it is missing.
_snapshot_function = None
# True once a HeapscopeWarning was given: it is given once per process.
_warned = False
# True once heapscope_snapshot returned -1: tracing stopped (or the library is dormant).
_stopped = False


def _function():
    """Return the library's heapscope_snapshot, or None if the library is not loaded."""
    global _snapshot_function
    if _snapshot_function is None:
        function = getattr(ctypes.CDLL(None), "heapscope_snapshot", None)
        if function is not None:
            function.argtypes = [ctypes.c_char_p]
            function.restype = ctypes.c_int
        _snapshot_function = function if function is not None else False
    return _snapshot_function or None


def _warn(message):
    """Warn MESSAGE as a HeapscopeWarning, if no warning was given before."""
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(message, HeapscopeWarning, stacklevel=3)


def tracing():
    """Return True if heapscope is tracing this process (as far as is known: a snapshot that
    fails stops tracing, and a library left dormant is seen at the first snapshot)."""
    return _function() is not None and not _stopped


def snapshot(label=None):
    """Take a full heapscope snapshot, labelled LABEL (a str, bytes or None), and return its
    id (1, 2, ...).  When heapscope is not tracing the process, warn once and return None."""
    global _stopped
    if label is not None and not isinstance(label, (str, bytes)):
        raise TypeError("label must be str, bytes or None, not %s" % type(label).__name__)
    if isinstance(label, str):
        label = label.encode("utf-8", "surrogateescape")
    if label is not None and b"\0" in label:
        raise ValueError("label contains a NUL character")
    function = _function()
    if function is None:
        _warn("heapscope is not tracing this process (run it with heapscope run):"
              " no snapshot taken")
        return None
    if _stopped:
        return None
    snap_id = function(label)
    if snap_id < 0:
        _stopped = True
        _warn("heapscope took no snapshot: tracing is off in this process")
        return None
    return snap_id
