"""A TCP proxy on loopback between a client and a server process, to break the network on cue."""

from __future__ import annotations

import socket
import threading
import time

from conftest import free_port


class CountingProxy:
    """Counts the bytes clients send and can cut every connection; with `cut_at`, it cuts them all once that
    many bytes have passed and then refuses the next `refusals` connections, as a server that went down for
    a while would; with `hold_at`, it stops passing on what clients send once that many bytes have passed
    (`holding` is then set), as a stalled network would, until released or closed."""

    def __init__(self, upstream_port: int, cut_at: int | None = None, refusals: int = 0,
                 hold_at: int | None = None):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.sent = 0
        self.refused = 0
        self._cut_at, self._refusals, self._hold_at = cut_at, refusals, hold_at
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._refuse():
                _hang_up(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()  # the server is down: the client sees the connection fail, as it would
                continue
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _refuse(self) -> bool:
        with self._lock:
            if self._cut_at is not None or self._refusals == 0:
                return False
            self._refusals -= 1
            self.refused += 1
            return True

    def _pump(self, source: socket.socket, target: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(256 << 10):
                if counted and self._hold_at is not None and self.sent >= self._hold_at:
                    self.holding.set()
                    while not self._closed and self._hold_at is not None:
                        time.sleep(0.01)
                    return
                target.sendall(data)
                if counted and self._count(len(data)):
                    self.drop_connections()
        except OSError:
            pass
        for sock in (source, target):  # one side ended: end the other, as a real peer's close would
            _hang_up(sock)

    def _count(self, size: int) -> bool:
        """Count bytes sent; whether the cut is due now."""
        with self._lock:
            self.sent += size
            if self._cut_at is not None and self.sent >= self._cut_at:
                self._cut_at = None
                return True
            return False

    def drop_connections(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for sock in connections:
            _hang_up(sock)

    def release(self) -> None:
        """The stalled connections cut, and the proxy passing everything on from now on."""
        self._hold_at = None
        self.drop_connections()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.drop_connections()


def _hang_up(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
