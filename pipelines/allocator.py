"""The local runner's processes with glibc's malloc capped at two arenas.

glibc gives each thread that allocates its own arena, up to eight per core, and gives an arena's free
memory back to the system only from its top. A Beam worker moves large byte strings (documents, encoded
bundles) between its gRPC, data-channel and bundle threads, so it keeps much of what it once held: a
memory that grows with the run, not with what is live (docs/scale.md, "Ninth round"). Two arenas is
the usual cap for such servers; a ``MALLOC_ARENA_MAX`` already set is the operator's choice and kept.
"""

from __future__ import annotations

import ctypes
import os
import platform

ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number for the cap (glibc's malloc.h)


def cap_arenas(arenas: int = ARENAS) -> bool:
    """Cap this process's arenas now (``mallopt``) and the processes it starts (``MALLOC_ARENA_MAX``, which
    glibc reads when a process starts). False where the C library is not glibc or the cap was set before."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)
    return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, arenas))
