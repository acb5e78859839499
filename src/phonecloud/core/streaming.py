"""Streaming a request body into a staged upload, shared by the plain upload and tus."""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect

# Hashing and writing run in a worker thread a batch at a time, so the event loop keeps receiving.
_FEED_BATCH = 1 << 20
# A refused upload's remaining body is read and dropped up to this much, so that the client, still
# sending, reads the clear error instead of a reset connection; beyond it the connection is closed.
_DRAIN_LIMIT = 64 << 20


async def drain_body(body, declared_length: int | None) -> dict[str, str]:
    """Read and drop the rest of a refused body, up to a limit; the headers its answer needs: beyond the
    limit the connection is closed with it (else the server would go on reading the body to its end)."""
    closing = {"Connection": "close"}
    if declared_length is not None and declared_length > _DRAIN_LIMIT:
        return closing
    received = 0
    try:
        async for chunk in body:
            received += len(chunk)
            if received > _DRAIN_LIMIT:
                return closing
    except ClientDisconnect:
        pass
    return {}


async def receive_into(body, staged) -> list[bytes]:
    """Read the body while the previous batch is hashed and, in parallel, written by worker threads.

    Returns the last batch, not yet fed: the caller feeds it in the same thread hop that finishes the
    upload, so a small file costs one hop in all. When the client goes away mid-body, everything that
    arrived is fed before ClientDisconnect is raised.
    """
    loop = asyncio.get_running_loop()
    working: list[asyncio.Future] = []
    batch: list[bytes] = []
    batched = 0

    async def settle() -> None:
        # Both halves finish before anything else happens, even if one of them failed.
        results = await asyncio.shield(asyncio.gather(*working, return_exceptions=True))
        working.clear()
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def start(chunks: list[bytes]) -> None:
        working.extend([loop.run_in_executor(None, staged.inspect, chunks),
                        loop.run_in_executor(None, staged.store, chunks)])

    try:
        async for chunk in body:
            batch.append(chunk)
            batched += len(chunk)
            if batched >= _FEED_BATCH:
                await settle()
                start(batch)
                batch, batched = [], 0
    except ClientDisconnect:
        # Every byte that arrived before the client went away is staged (a resumable upload keeps it).
        await settle()
        start(batch)
        raise
    finally:
        await settle()
    return batch
