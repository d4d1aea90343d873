"""A time limit on one document's extraction: the work runs in a child process that is killed when over.

lxml and trafilatura hold the interpreter in C code, and a pathological page can keep them
there for minutes; nothing interrupts that safely inside the worker (a signal alarm works only in the main
thread, a thread cannot be stopped). So each worker thread keeps one child Python process (started on the
first HTML page, ~1 s with its imports, then reused) that runs the function it is sent; a call that
misses its deadline kills the child, which is started afresh for the next page, and raises
``TimeLimitExceeded``, which the stage records as an error row. The child talks over its own stdin and a
private copy of stdout (its stdout proper goes to stderr, so a library that prints cannot corrupt a frame)
and ends when its parent does (end of stdin), or is stopped after ``IDLE_SECONDS`` without a page (a batch
run's parsing is over long before its tagging, and the child holds ~60 MB). Per page the round trip costs
well under a millisecond (docs/extraction.md); a spawned child, not a fork, since forking a threaded worker
can deadlock.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Optional

from transforms.child import python_child

_HEADER = struct.Struct("!Q")
STARTUP_SECONDS = 300.0  # a new child's imports (1-5 s; more on a loaded machine)
IDLE_SECONDS = 60.0  # a child unused this long is stopped, and started again for the next page
_CHILD = f"from {__name__} import _serve\n_serve()\n"  # the extraction modules, not Beam (``child``)


class TimeLimitExceeded(Exception):
    """The document took longer than the limit; the child doing it was killed."""


class Sandbox:
    """One child process running functions within a deadline each; not thread-safe (one per thread)."""

    def __init__(self):
        self._child: Optional[subprocess.Popen] = None
        self._lock = threading.Lock()  # a call, or the idle check (``stop_if_idle``), never both at once
        self._used = time.monotonic()

    def call(self, seconds: float, fn: Callable, *args, preload: tuple[str, ...] = ()) -> Any:
        """``fn(*args)`` in the child; its exception is raised here; over ``seconds``, TimeLimitExceeded.
        A child started for this call first imports ``fn``'s module and ``preload`` (what ``fn`` imports
        when first called), on a deadline of its own: a page's limit is for the page, not for imports."""
        with self._lock:
            try:
                if self._child is None or self._child.poll() is not None:
                    self._start()
                    self._exchange(STARTUP_SECONDS, _import, ((fn.__module__, *preload),), "starting the extraction process")
                return self._exchange(seconds, fn, args, "extraction")
            finally:
                self._used = time.monotonic()

    def stop_if_idle(self) -> None:
        """Stop the child if no call has used it for ``IDLE_SECONDS``; a call under way is left alone."""
        if self._lock.acquire(blocking=False):
            try:
                if self._child is not None and time.monotonic() - self._used >= IDLE_SECONDS:
                    self.close()
            finally:
                self._lock.release()

    def _exchange(self, seconds: float, fn: Callable, args: tuple, what: str) -> Any:
        child = self._child
        frame = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            child.stdin.write(_HEADER.pack(len(frame)) + frame)
            child.stdin.flush()
            ok, value = _read_frame(child.stdout, time.monotonic() + seconds)
        except TimeLimitExceeded:
            self.close()
            raise TimeLimitExceeded(f"{what} took longer than {seconds:g} s (the time limit), stopped") from None
        except (OSError, EOFError) as e:  # the child died (out of memory, a crash in C code)
            self.close()
            raise RuntimeError(f"the extraction process died: {e or type(e).__name__}") from None
        if ok:
            return value
        raise value

    def close(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.kill()
            child.wait()
            for stream in (child.stdin, child.stdout):
                stream.close()

    def _start(self) -> None:
        self.close()
        command, env = python_child(__name__, _CHILD)
        self._child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        _CHILDREN.add(self)
        _watch_idle()


def _read_frame(stream, deadline: float) -> Any:
    """One length-prefixed pickle from ``stream``, or TimeLimitExceeded if it has not come by ``deadline``."""
    buffer = b""
    need = _HEADER.size
    header_done = False
    while True:
        while len(buffer) < need:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([stream], [], [], left)[0]:
                raise TimeLimitExceeded
            chunk = os.read(stream.fileno(), max(need - len(buffer), 65536))
            if not chunk:
                raise EOFError("no answer")
            buffer += chunk
        if header_done:
            return pickle.loads(buffer[:need])
        (length,) = _HEADER.unpack(buffer[: _HEADER.size])
        buffer, need, header_done = buffer[_HEADER.size :], length, True


_CHILDREN: weakref.WeakSet[Sandbox] = weakref.WeakSet()
_LOCAL = threading.local()


def within_time_limit(seconds: float, fn: Callable, *args, preload: tuple[str, ...] = ()) -> Any:
    """``fn(*args)`` in this thread's child process, within ``seconds`` (``Sandbox.call``)."""
    sandbox = getattr(_LOCAL, "sandbox", None)
    if sandbox is None:
        sandbox = _LOCAL.sandbox = Sandbox()
    return sandbox.call(seconds, fn, *args, preload=preload)


@functools.cache
def _watch_idle() -> None:
    """Start, once per process, the thread that stops children left idle (``Sandbox.stop_if_idle``)."""

    def watch() -> None:
        while True:
            time.sleep(min(IDLE_SECONDS, 10.0))
            for sandbox in list(_CHILDREN):
                sandbox.stop_if_idle()

    threading.Thread(target=watch, name="extraction-idle", daemon=True).start()


@atexit.register
def _close_all() -> None:
    for sandbox in list(_CHILDREN):
        sandbox.close()


def _import(modules: tuple[str, ...]) -> None:
    for module in modules:
        importlib.import_module(module)


def _serve() -> None:
    """The child: read (function, args) frames from stdin, answer (ok, value) frames, until stdin ends."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what libraries print goes to stderr, never into a frame
    source = sys.stdin.buffer
    while header := source.read(_HEADER.size):
        fn, args = pickle.loads(source.read(_HEADER.unpack(header)[0]))
        try:
            answer = (True, fn(*args))
        except Exception as e:  # noqa: BLE001 - every failure goes back to the parent as it was
            answer = (False, e)
        try:
            frame = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as e:  # an exception or a value that does not pickle
            frame = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]} ({e})")))
        out.write(_HEADER.pack(len(frame)) + frame)
        out.flush()
