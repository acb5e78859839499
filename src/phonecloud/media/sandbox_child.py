"""The render sandbox's child process: the side that reads untrusted files. Run only by ``RenderSandbox``
(sandbox.py, the server's side) as ``python -m phonecloud.media.sandbox_child --memory N --threads N --nice N``.

It lowers its own priority, caps its address space (RLIMIT_AS) and forbids core dumps before it touches a
file, then answers the parent's requests on stdin and stdout (sandbox_protocol.py) until stdin ends: the
metadata (metadata.extract) and a derivative (derivatives.render) of one file per request. A file that makes a
decoder fail is answered with an error and the child goes on; a MemoryError ends it (the parent starts a new
one); it leaves on its own when the parent dies. Anything a library prints goes to stderr, never into the
pipe.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time

from phonecloud.media import derivatives, metadata
from phonecloud.media.sandbox_protocol import EXIT_OUT_OF_MEMORY, read_message, write_message
from phonecloud.media.sniff import MediaType


def main(argv: list[str]) -> int:
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
        derivatives.configure(threads=threads)
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises RenderError
        write_message(reply, {"ok": False, "error": f"{type(error).__name__}: {error}"})
        return 1
    write_message(reply, {"ok": True, "pid": os.getpid()})
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()

    while True:
        try:
            # The parent is trusted: its requests have no length limit.
            request = read_message(lambda count: _read_all(requests, count), max_length=None)
        except EOFError:
            return 0
        try:
            header, blobs = _handle(request)
        except MemoryError:
            try:
                write_message(reply, {"ok": False, "fatal": True, "error": "renderer ran out of memory"})
            finally:
                os._exit(EXIT_OUT_OF_MEMORY)
        write_message(reply, header, blobs)


def _handle(request: dict) -> tuple[dict, list[bytes]]:
    if request.get("op") == "ping":
        return {"ok": True}, []
    if request.get("op") == "debug":
        return _debug(request)
    if request.get("op") == "process":
        return _process(request)
    return _render(request)


def _process(request: dict) -> tuple[dict, list[bytes]]:
    """Metadata, then the derivative asked for; a file that cannot be rendered still has its metadata."""
    media = MediaType(**request["media"])
    modified_at = datetime.datetime.fromisoformat(request["modified_at"])
    found = metadata.extract(request["path"], media, request["filename"], modified_at)
    header, blobs = _render(request)
    return {"ok": True, "metadata": found.to_json(), "render_error": None if header["ok"] else header["error"],
            **{key: header[key] for key in ("width", "height", "damage") if key in header}}, blobs


def _render(request: dict) -> tuple[dict, list[bytes]]:
    try:
        media = MediaType(**request["media"])
        rendered = derivatives.render(request["path"], media, request["derivative"])
    except derivatives.RenderError as error:
        return {"ok": False, "error": str(error)}, []
    except MemoryError:
        raise
    except Exception as error:  # a bug or an unexpected library error: this file fails, the child goes on
        return {"ok": False, "error": f"rendering failed: {type(error).__name__}: {error}"}, []
    return ({"ok": True, "width": rendered.width, "height": rendered.height, "damage": rendered.damage},
            [rendered.image])


def _debug(request: dict) -> tuple[dict, list[bytes]]:
    """The misbehaviours RenderSandbox._debug asks for, to test that the parent survives them."""
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
    sys.exit(main(sys.argv[1:]))
