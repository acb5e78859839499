"""Render previews in a child process, so that a hostile or broken upload can only take the child down.

Image and video decoders are large C libraries fed with whatever a phone (or anyone holding a token)
uploads. ``RenderSandbox`` runs ``derivatives.render`` in a long-lived child Python process that:

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
run code in the server. Replies are a small JSON header and two byte strings whose sizes are checked.

Threads: one sandbox renders one file at a time (calls are serialised by a lock, so sharing one is safe,
merely sequential). For N parallel renders, give each of N worker threads its own sandbox.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict

from phonecloud.media.derivatives import RenderError, Rendered
from phonecloud.media.metadata import Metadata
from phonecloud.media.sniff import MediaType

_STARTUP_SECONDS = 60.0  # importing the decoders, generous for a loaded machine; bounded all the same
_MAX_HEADER = 64 * 1024
_MAX_OUTPUT = 64 * 1024 * 1024  # far above a 1440 px JPEG; a child claiming more is broken or hostile
_LENGTH_BYTES = 4
_EXIT_OUT_OF_MEMORY = 70
_PING_SECONDS = 10.0  # an idle child answers at once; this only bounds the wait on a wedged one
# How often the child's CPU time is read while it works: a budget is overrun by at most this much.
_CPU_SAMPLE_SECONDS = 0.1
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

    # --- public ---------------------------------------------------------------------------------------------

    def render(self, path: str, media: MediaType) -> Rendered:
        request = {"op": "render", "path": os.fspath(path), "media": asdict(media)}
        header, blobs = self._call(request, self.timeout_seconds, _file_size(path))
        if len(blobs) != 2:
            with self._lock:
                self._stop(graceful=False)
            raise RenderError("renderer sent a bad reply (not two images)")
        return Rendered(
            thumbnail=blobs[0], preview=blobs[1], width=_int(header, "width"), height=_int(header, "height")
        )

    def process(self, path: str, media: MediaType, filename: str,
                file_modified_at: datetime.datetime) -> tuple[Metadata, Rendered | None, str | None]:
        """Metadata and derivatives of one file in one visit to the child, which parses the file's
        metadata as well (EXIF, XMP and container parsers are as exposed as the decoders).
        Returns (metadata, rendered or None, why not rendered); a crash or timeout raises RenderError."""
        request = {"op": "process", "path": os.fspath(path), "media": asdict(media), "filename": filename,
                   "modified_at": file_modified_at.isoformat()}
        header, blobs = self._call(request, self.timeout_seconds, _file_size(path))
        metadata = _metadata_from(header.get("metadata"))
        if header.get("render_error") is not None:
            return metadata, None, str(header["render_error"])
        if len(blobs) != 2:
            raise RenderError("renderer sent a bad reply (not two images)")
        rendered = Rendered(thumbnail=blobs[0], preview=blobs[1], width=_int(header, "width"),
                            height=_int(header, "height"))
        return metadata, rendered, None

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
                _write_frame(process.stdin, json.dumps(request).encode())
            except OSError:
                reason = self._death_reason()
                self._stop(graceful=False)
                raise RenderError(reason) from None
            deadline = time.monotonic() + timeout
            try:
                header = _read_json(process.stdout, deadline, watch.check)
                blobs = []
                for length in header.get("blobs", []):
                    if not isinstance(length, int) or not 0 <= length <= _MAX_OUTPUT:
                        raise _ProtocolError(f"bad output size {length!r}")
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
            except _ProtocolError as error:
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
            _write_frame(process.stdin, b'{"op": "ping"}')
            return _read_json(process.stdout, time.monotonic() + _PING_SECONDS).get("ok") is True
        except (OSError, TimeoutError, EOFError, _ProtocolError):
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
            sys.executable, "-m", "phonecloud.media.sandbox",
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
            ready = _read_json(process.stdout, time.monotonic() + _STARTUP_SECONDS)
        except (TimeoutError, EOFError, _ProtocolError):
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
        if code == _EXIT_OUT_OF_MEMORY:
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


class _ProtocolError(Exception):
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


def _int(header: dict, key: str) -> int:
    value = header.get(key)
    if not isinstance(value, int) or value < 0:
        raise RenderError(f"renderer sent a bad reply ({key}={value!r})")
    return value


def _write_frame(stream, payload: bytes) -> None:
    stream.write(len(payload).to_bytes(_LENGTH_BYTES, "big") + payload)
    stream.flush()


def _read_json(stream, deadline: float, check=None) -> dict:
    length = int.from_bytes(_read_exact(stream, _LENGTH_BYTES, deadline, check), "big")
    if length > _MAX_HEADER:
        raise _ProtocolError(f"header of {length} bytes")
    try:
        header = json.loads(_read_exact(stream, length, deadline, check))
    except ValueError as error:
        raise _ProtocolError(f"undecodable header: {error}") from None
    if not isinstance(header, dict):
        raise _ProtocolError("header is not an object")
    return header


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


# --- the child ----------------------------------------------------------------------------------------------


def _child_main(argv: list[str]) -> int:
    # The protocol owns the original stdout; anything a library prints goes to stderr instead.
    reply = os.fdopen(os.dup(1), "wb")  # buffered: a write returns only once all of it is written
    os.dup2(2, 1)
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)

    options = dict(zip(argv[0::2], argv[1::2]))
    memory = int(options.get("--memory", "0"))
    threads = int(options.get("--threads", "0")) or None
    try:
        import resource

        os.nice(int(options.get("--nice", "0")))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not write a core file of the photo
        _not_dumpable()  # nor hand one to a core_pattern pipe, which ignores RLIMIT_CORE
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        from phonecloud.media import derivatives

        derivatives.configure(threads=threads)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises RenderError
        _write_frame(reply, json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}).encode())
        return 1
    _write_frame(reply, json.dumps({"ok": True, "pid": os.getpid()}).encode())
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()

    while True:
        try:
            length = int.from_bytes(_read_all(requests, _LENGTH_BYTES), "big")
            request = json.loads(_read_all(requests, length))
        except EOFError:
            return 0
        try:
            header, blobs = _child_handle(derivatives, request)
        except MemoryError:
            header, blobs = {"ok": False, "fatal": True, "error": "renderer ran out of memory"}, []
            try:
                _write_frame(reply, json.dumps(header).encode())
            finally:
                os._exit(_EXIT_OUT_OF_MEMORY)
        header["blobs"] = [len(blob) for blob in blobs]
        _write_frame(reply, json.dumps(header).encode())
        for blob in blobs:
            reply.write(blob)
        reply.flush()


def _metadata_from(fields) -> Metadata:
    """Rebuild the child's metadata from plain JSON values (never unpickled), checking its shape."""
    names = {field.name for field in dataclasses.fields(Metadata)}
    if not isinstance(fields, dict) or set(fields) != names:
        raise RenderError("renderer sent a bad reply (metadata)")
    try:
        taken_at = datetime.datetime.fromisoformat(fields["taken_at"]) if fields["taken_at"] else None
    except (TypeError, ValueError):
        raise RenderError("renderer sent a bad reply (capture time)") from None
    return Metadata(**{**fields, "taken_at": taken_at, "problems": tuple(str(p) for p in fields["problems"])})


def _child_process(derivatives, request: dict) -> tuple[dict, list[bytes]]:
    from phonecloud.media.metadata import extract

    media = MediaType(**request["media"])
    modified_at = datetime.datetime.fromisoformat(request["modified_at"])
    metadata = dataclasses.asdict(extract(request["path"], media, request["filename"], modified_at))
    metadata["taken_at"] = metadata["taken_at"].isoformat() if metadata["taken_at"] else None
    header, blobs = _child_render(derivatives, request)
    return {"ok": True, "metadata": metadata, "render_error": None if header["ok"] else header["error"],
            **{key: header[key] for key in ("width", "height") if key in header}}, blobs


def _child_handle(derivatives, request: dict) -> tuple[dict, list[bytes]]:
    if request.get("op") == "ping":
        return {"ok": True}, []
    if request.get("op") == "debug":
        return _child_debug(request)
    if request.get("op") == "process":
        return _child_process(derivatives, request)
    return _child_render(derivatives, request)


def _child_render(derivatives, request: dict) -> tuple[dict, list[bytes]]:
    try:
        media = MediaType(**request["media"])
        rendered = derivatives.render(request["path"], media)
    except derivatives.RenderError as error:
        return {"ok": False, "error": str(error)}, []
    except MemoryError:
        raise
    except Exception as error:  # a bug or an unexpected library error: this file fails, the child goes on
        return {"ok": False, "error": f"rendering failed: {type(error).__name__}: {error}"}, []
    return {"ok": True, "width": rendered.width, "height": rendered.height}, [rendered.thumbnail, rendered.preview]


def _child_debug(request: dict) -> tuple[dict, list[bytes]]:
    action = request.get("action")
    if action == "exit":
        os._exit(int(request.get("code", 3)))
    if action == "abort":
        os.abort()
    if action == "allocate":  # past RLIMIT_AS: MemoryError
        hoard = []
        while True:
            hoard.append(bytearray(64 << 20))
    if action == "sleep":
        time.sleep(float(request.get("seconds", 3600)))
    if action == "spin":  # a decoder stuck in a loop: CPU time, not waiting
        until = time.process_time() + float(request.get("seconds", 3600))
        while time.process_time() < until:
            pass
    return {"ok": True, "pid": os.getpid()}, []


def _not_dumpable() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):
        pass  # not Linux: RLIMIT_CORE alone


def _exit_with_parent(parent: int) -> None:
    """A child stuck in a decoder would outlive a parent that was killed: it leaves when orphaned."""
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


def _read_all(stream, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
