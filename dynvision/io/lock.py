"""One writer per store: an exclusive lock held for the whole of a write.

- **Local folders** (and mounted network filesystems with working ``flock``): a
  :class:`filelock.FileLock` on a hidden file beside the store (``acts.zarr`` ->
  ``.acts.zarr.lock``). The operating system releases it when the process dies, so a crashed
  writer never leaves a stale lock.
- **Object stores** (``s3://``, ``gs://``, ``memory://``...) have no locks. The rule there is
  a *lease*: a JSON object beside the store (``.acts.zarr.lease``) naming the holder and an
  expiry time, renewed by the holder while it writes. A writer takes the lease only when
  there is none or it has expired, then reads it back after a short pause to confirm that no
  other writer took it at the same moment; a writer that dies stops renewing, and its lease
  expires after ``ttl_s``.

A second writer waits for the lock (``timeout_s=None``) or gives up after ``timeout_s``
seconds with :class:`StoreLockedError`.

Example:
    >>> from dynvision.io.location import locate
    >>> with store_lock(locate("/tmp/dv-doc.zarr"), timeout_s=5):  # doctest: +SKIP
    ...     pass  # write the store
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from typing import Iterator

from dynvision.io.location import Location


class StoreLockedError(TimeoutError):
    """Another writer holds the store's lock and it was not released in time."""


@contextlib.contextmanager
def store_lock(loc: Location, timeout_s: float | None = None, ttl_s: float = 60.0) -> Iterator[None]:
    """Hold the store's exclusive write lock (see the module docstring for the rules).

    Args:
        loc: The store.
        timeout_s: Seconds to wait for another writer; ``None`` waits as long as it takes.
        ttl_s: Lifetime of an object-store lease between renewals.

    Raises:
        StoreLockedError: The lock was not free within ``timeout_s``.
    """
    if loc.local:
        with _file_lock(loc, timeout_s):
            yield
    else:
        with _lease(loc, timeout_s, ttl_s):
            yield


@contextlib.contextmanager
def _file_lock(loc: Location, timeout_s: float | None) -> Iterator[None]:
    from filelock import FileLock, Timeout

    path = loc.sibling(".lock")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lock = FileLock(path, thread_local=False)
    try:
        lock.acquire(timeout=-1 if timeout_s is None else timeout_s)
    except Timeout:
        raise StoreLockedError(
            f"store {loc.url!r} is being written by another run (lock {path!r} held for more than "
            f"{timeout_s:g} s); wait for it to finish, raise lock_timeout_s, or write to another store") from None
    try:
        yield
    finally:
        lock.release()


@contextlib.contextmanager
def _lease(loc: Location, timeout_s: float | None, ttl_s: float) -> Iterator[None]:
    path = loc.sibling(".lease")
    me = {"owner": uuid.uuid4().hex, "host": socket.gethostname(), "pid": os.getpid()}
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        held = loc.read_json(path)
        if held is None or held.get("expires", 0) < time.time():
            loc.write_json(path, {**me, "expires": time.time() + ttl_s})
            time.sleep(min(0.2, ttl_s / 10))  # let a writer that raced us overwrite it, then look
            held = loc.read_json(path)
            if held is not None and held.get("owner") == me["owner"]:
                break
        if deadline is not None and time.monotonic() > deadline:
            raise StoreLockedError(
                f"store {loc.url!r} is being written by another run (lease {path!r} held by "
                f"{held.get('host') if held else '?'} pid {held.get('pid') if held else '?'} for more than "
                f"{timeout_s:g} s); wait for it to finish, raise lock_timeout_s, or write to another store")
        time.sleep(0.1)
    stop = threading.Event()

    def renew():
        while not stop.wait(ttl_s / 3):
            loc.write_json(path, {**me, "expires": time.time() + ttl_s})

    thread = threading.Thread(target=renew, name="dynvision-lease", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        held = loc.read_json(path)
        if held is not None and held.get("owner") == me["owner"]:
            loc.fs.rm_file(path)
