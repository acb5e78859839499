"""Render previews in a child process, so that a hostile or broken upload can only take the child down. This
module is the server's side: it starts, feeds, watches and replaces the child; the child's side is
sandbox_child.py, and the pipe between them sandbox_protocol.py.

Image and video decoders are large C libraries fed with whatever a phone (or anyone holding a token)
uploads. ``RenderSandbox`` runs ``derivatives.render`` (and ``metadata.extract``) in a long-lived child
Python process that:

- has its address space capped with RLIMIT_AS (an allocation past it fails inside the child: libvips
  reports an error, Python raises MemoryError, a C library may abort: all end in RenderError here);
- is killed (SIGKILL) when one render takes longer than the timeout, and on any crash; the next render
  starts a fresh child, so one bad file costs one RenderError, never the worker;
- is killed as well when one file costs it more CPU time than the file's size can explain (a budget of
  some seconds plus some per MiB, read from /proc while waiting): a small crafted file that makes a
  decoder or metadata parser work for long fails fast, whatever the machine's load (the wall-clock
  timeout stays for systems without /proc, and for a child that waits instead of computing);
- is started once and reused: a new child (Python, libvips) takes about 0.1 s to start, as long as a
  render of a 12 MP JPEG, so there is no process per image.

The parent never unpickles anything the child sends: a child compromised by a crafted file could otherwise
run code in the server. Replies are a small JSON header and the derivative's bytes, whose size is checked.

Threads: one sandbox renders one file at a time (calls are serialised by a lock, so sharing one is safe,
merely sequential). For N parallel renders, give each of N worker threads its own sandbox.
"""

from __future__ import annotations

import datetime
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict

from phonecloud.media.derivatives import THUMBNAIL, RenderError, Rendered
from phonecloud.media.facts import Metadata
from phonecloud.media.sandbox_protocol import (
    EXIT_OUT_OF_MEMORY, MAX_OUTPUT, ProtocolError, read_message, write_message,
)
from phonecloud.media.sniff import MediaType

CHILD_MODULE = "phonecloud.media.sandbox_child"  # run with python -m
_STARTUP_SECONDS = 60.0  # importing the decoders, generous for a loaded machine; bounded all the same
_PING_SECONDS = 10.0  # an idle child answers at once; this only bounds the wait on a wedged one
# How often the child's CPU time is read while it works: a budget is overrun by at most this much.
_CPU_SAMPLE_SECONDS = 0.1
MAX_DAMAGE_CHARS = 1000  # a damage report is a decoder's line or two; a child sending more is cut short
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc/<pid>/stat's time unit


class RenderSandbox:
    """``derivatives.render`` in a child process with a memory limit and a timeout per file."""

    def __init__(
        self,
        timeout_seconds: float = 60,
        memory_bytes: int = 1 << 30,
        threads: int | None = 1,
        niceness: int = 0,
        cpu_seconds_base: float | None = 6.0,
        cpu_seconds_per_mib: float = 2.0,
    ):
        """timeout_seconds: longest one render may take. memory_bytes: the child's address-space limit
        (RLIMIT_AS; None for none). threads: libvips/libheif threads per render (see derivatives.configure);
        1 suits one sandbox per core. niceness: added to the child's nice value, so that renders use the cores
        uploads leave idle instead of slowing the uploads down. cpu_seconds_base, cpu_seconds_per_mib: the
        CPU time (all the child's threads) one file may cost, base + per_mib * its size in MiB; None for no
        CPU limit. The real phone and camera corpus needs at most 0.7 s for a 3 MiB HEIC."""
        self.timeout_seconds = float(timeout_seconds)
        self.memory_bytes = memory_bytes
        self.threads = threads
        self.niceness = niceness
        self.cpu_seconds_base = None if cpu_seconds_base is None else float(cpu_seconds_base)
        self.cpu_seconds_per_mib = float(cpu_seconds_per_mib)
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._fresh = False
        self._closed = False

    @classmethod
    def configured(cls, settings) -> RenderSandbox:
        """A sandbox with the server's render limits (its Settings' render_* values)."""
        return cls(timeout_seconds=settings.render_timeout_seconds, memory_bytes=settings.render_memory_bytes,
                   niceness=settings.render_niceness, cpu_seconds_base=settings.render_cpu_seconds_base,
                   cpu_seconds_per_mib=settings.render_cpu_seconds_per_mib)

    # --- public ---------------------------------------------------------------------------------------------

    def render(self, path: str, media: MediaType, derivative: str) -> Rendered:
        """One derivative (derivatives.THUMBNAIL or PREVIEW) of one file; RenderError if impossible."""
        request = {"op": "render", "path": os.fspath(path), "media": asdict(media), "derivative": derivative}
        header, blobs = self._call(request, self.timeout_seconds, _file_size(path))
        return self._checked(header, blobs)

    def process(self, path: str, media: MediaType, filename: str,
                file_modified_at: datetime.datetime) -> tuple[Metadata, Rendered | None, str | None]:
        """Metadata and the thumbnail of one file in one visit to the child, which parses the file's
        metadata as well (EXIF, XMP and container parsers are as exposed as the decoders): what the media
        job makes at once. Returns (metadata, the thumbnail or None, why not rendered); a crash or timeout
        raises RenderError."""
        request = {"op": "process", "path": os.fspath(path), "media": asdict(media), "filename": filename,
                   "modified_at": file_modified_at.isoformat(), "derivative": THUMBNAIL}
        header, blobs = self._call(request, self.timeout_seconds, _file_size(path))
        try:
            metadata = Metadata.from_json(header.get("metadata"))  # plain JSON values, never unpickled
        except ValueError as error:
            raise RenderError(f"renderer sent a bad reply (metadata: {error})") from None
        if header.get("render_error") is not None:
            return metadata, None, str(header["render_error"])
        return metadata, self._checked(header, blobs), None

    def _checked(self, header: dict, blobs: list[bytes]) -> Rendered:
        try:
            return _rendered(header, blobs)
        except RenderError:
            with self._lock:
                self._stop(graceful=False)  # a child that breaks the protocol is not trusted with another file
            raise

    def cpu_budget(self, file_bytes: int) -> float | None:
        """CPU seconds one file of this size may cost the child; None when CPU time is not limited."""
        if self.cpu_seconds_base is None:
            return None
        return self.cpu_seconds_base + self.cpu_seconds_per_mib * max(file_bytes, 0) / (1 << 20)

    @property
    def pid(self) -> int | None:
        """The child's process id, None before the first render or after a crash (for tests and logs)."""
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop(graceful=True)

    def __enter__(self) -> RenderSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            try:
                process.kill()
                process.wait(timeout=5)
            except Exception:
                pass

    def _debug(self, action: str, timeout_seconds: float | None = None, file_bytes: int = 0, **arguments) -> dict:
        """Test hook: make the child misbehave on purpose: "exit" (code=N), "abort", "allocate" (past the
        memory limit), "sleep" (seconds=N), "spin" (busy for seconds=N of CPU); "ping" answers with the
        child's pid. It is given the CPU budget of a file of file_bytes."""
        header, _ = self._call({"op": "debug", "action": action, **arguments},
                               timeout_seconds or self.timeout_seconds, file_bytes)
        return header

    # --- the conversation with the child --------------------------------------------------------------------

    def _call(self, request: dict, timeout: float, file_bytes: int) -> tuple[dict, list[bytes]]:
        with self._lock:
            if self._closed:
                raise RenderError("renderer is closed")
            process = self._ensure_started()
            if not self._alive(process):
                # Died while idle (the kernel's OOM killer, an operator): not this file's fault, so it
                # goes to a new child instead of failing.
                self._stop(graceful=False)
                process = self._ensure_started()
            watch = _CpuWatch(process.pid, self.cpu_budget(file_bytes))
            try:
                write_message(process.stdin, request)
            except OSError:
                reason = self._death_reason()
                self._stop(graceful=False)
                raise RenderError(reason) from None
            deadline = time.monotonic() + timeout
            try:
                header = _read_reply(process.stdout, deadline, watch.check)
                blobs = []
                for length in header.get("blobs", []):
                    if not isinstance(length, int) or not 0 <= length <= MAX_OUTPUT:
                        raise ProtocolError(f"bad output size {length!r}")
                    blobs.append(_read_exact(process.stdout, length, deadline, watch.check))
            except TimeoutError:
                self._stop(graceful=False)
                raise RenderError(f"rendering timed out after {timeout:g} s") from None
            except _CpuBudgetExceeded:
                self._stop(graceful=False)
                raise RenderError(f"rendering used more than {watch.budget:.1f} s of CPU for a "
                                  f"{_size_text(file_bytes)} file; the file is probably crafted") from None
            except EOFError:
                reason = self._death_reason()
                self._stop(graceful=False)
                raise RenderError(reason) from None
            except ProtocolError as error:
                self._stop(graceful=False)
                raise RenderError(f"renderer sent a bad reply ({error})") from None
            if header.get("fatal"):
                self._stop(graceful=False)  # e.g. MemoryError: state may be damaged, replace the child
            if not header.get("ok"):
                raise RenderError(str(header.get("error") or "rendering failed"))
            return header, blobs

    def _alive(self, process: subprocess.Popen) -> bool:
        """A round trip to a child started earlier. A child killed a moment ago may not be reaped yet
        (its threads still exiting), so poll() alone would send it the file and blame the file."""
        if self._fresh:
            self._fresh = False
            return True
        try:
            write_message(process.stdin, {"op": "ping"})
            return _read_reply(process.stdout, time.monotonic() + _PING_SECONDS).get("ok") is True
        except (OSError, TimeoutError, EOFError, ProtocolError):
            return False

    def _ensure_started(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop(graceful=False)
        environment = dict(os.environ)
        # Each glibc malloc arena reserves 64 MiB of address space per thread; under RLIMIT_AS a handful of
        # decoder threads would use up the limit without touching memory. Two arenas are plenty here.
        environment["MALLOC_ARENA_MAX"] = "2"
        arguments = [
            sys.executable, "-m", CHILD_MODULE,
            "--memory", str(self.memory_bytes or 0),
            "--threads", str(self.threads or 0),
            "--nice", str(self.niceness),
        ]
        process = subprocess.Popen(
            arguments, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=environment,
            bufsize=0, close_fds=True, start_new_session=True,  # Ctrl-C on the server is the server's to handle
        )
        self._process = process
        try:
            ready = _read_reply(process.stdout, time.monotonic() + _STARTUP_SECONDS)
        except (TimeoutError, EOFError, ProtocolError):
            reason = self._death_reason()
            self._stop(graceful=False)
            raise RenderError(f"renderer could not start: {reason}") from None
        if not ready.get("ok"):
            self._stop(graceful=False)
            raise RenderError(f"renderer could not start: {ready.get('error')}")
        self._fresh = True  # it has just said it is ready: no ping before its first file
        return process

    def _death_reason(self) -> str:
        process = self._process
        if process is None:
            return "renderer stopped"
        try:
            code = process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "renderer stopped answering"
        if code == EXIT_OUT_OF_MEMORY:
            return f"renderer ran out of memory (limit {self._limit_text()})"
        if code < 0:
            number = -code
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            if number == signal.SIGKILL:
                return f"renderer was killed ({name}; out of memory?)"
            if number == signal.SIGABRT:
                return f"renderer crashed ({name}; often an allocation past the {self._limit_text()} limit)"
            return f"renderer crashed ({name})"
        return f"renderer exited with status {code}"

    def _limit_text(self) -> str:
        return f"{self.memory_bytes / (1 << 20):.0f} MiB" if self.memory_bytes else "no"

    def _stop(self, graceful: bool) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if graceful and process.poll() is None:
                process.stdin.close()  # the child exits at the end of its input
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _CpuBudgetExceeded(Exception):
    pass


class _CpuWatch:
    """The child's CPU time since the request, read from /proc/<pid>/stat (user + system time of all its
    threads); without /proc (or without a budget) it checks nothing, and the wall-clock timeout remains."""

    def __init__(self, pid: int, budget: float | None):
        self.pid = pid
        self.budget = budget
        self.start = _cpu_seconds(pid) if budget is not None else None
        self._next = time.monotonic() + _CPU_SAMPLE_SECONDS

    def check(self) -> None:
        if self.start is None or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + _CPU_SAMPLE_SECONDS
        used = _cpu_seconds(self.pid)
        if used is not None and used - self.start > self.budget:
            raise _CpuBudgetExceeded


def _cpu_seconds(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            line = stat.read()
        # Fields after the command name (which may hold spaces, in parentheses): utime and stime are the
        # 14th and 15th of the line, counted in clock ticks.
        fields = line[line.rindex(b")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return None


def _file_size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # the child says what is wrong with it


def _size_text(size: int) -> str:
    if size < 1 << 20:
        return f"{max(size, 1) / 1024:.0f} KiB" if size >= 1024 else f"{size} byte"
    return f"{size / (1 << 20):.1f} MiB"


def _rendered(header: dict, blobs: list[bytes]) -> Rendered:
    if len(blobs) != 1:
        raise RenderError("renderer sent a bad reply (not one image)")
    damage = header.get("damage")
    if damage is not None and not isinstance(damage, str):
        raise RenderError(f"renderer sent a bad reply (damage={damage!r})")
    return Rendered(image=blobs[0], width=_int(header, "width"), height=_int(header, "height"),
                    damage=damage[:MAX_DAMAGE_CHARS] if damage else None)


def _int(header: dict, key: str) -> int:
    value = header.get(key)
    if not isinstance(value, int) or value < 0:
        raise RenderError(f"renderer sent a bad reply ({key}={value!r})")
    return value


def _read_reply(stream, deadline: float, check=None) -> dict:
    return read_message(lambda count: _read_exact(stream, count, deadline, check))


def _read_exact(stream, count: int, deadline: float, check=None) -> bytes:
    """count bytes from a pipe, or TimeoutError at the deadline, or EOFError when the writer is gone;
    check() is called at least every _CPU_SAMPLE_SECONDS while waiting, and may raise to stop the wait."""
    descriptor = stream.fileno()
    chunks = []
    remaining = count
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        ready, _, _ = select.select([descriptor], [], [], min(left, _CPU_SAMPLE_SECONDS) if check else left)
        if check is not None:
            check()
        if not ready:
            continue
        chunk = os.read(descriptor, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
