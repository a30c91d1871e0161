"""httpcore's network layer on plain asyncio streams, for plain-HTTP replay endpoints.

A replay against a local model server (vLLM, Ollama, llama.cpp on 127.0.0.1 or the LAN)
is bound by the client's work per request. httpcore's default layer goes through anyio:
a cancel scope around every read and write, and the request's head and body sent as two
writes (two wake-ups of the server). This one buffers what httpcore writes until it reads
the answer and sends it as one write, with asyncio's own timeouts. About 0.2 ms less of
the client's CPU a request; HTTPS endpoints keep httpcore's own layer (TLS is theirs).
"""

# The `timeout` parameters are httpcore's interface for a network layer, not ours to change.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

FLUSH_AT = 1 << 16
"""A request body larger than this goes out as it is written, not kept whole in memory."""


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: writes held until the next read (or FLUSH_AT bytes), then sent."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._pending: list[bytes] = []
        self._size = 0

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)
            self._size += len(buffer)
            if self._size >= FLUSH_AT:
                await self._flush(timeout)

    async def _flush(self, timeout: float | None) -> None:
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(data)
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout("the request could not be sent in time") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush(timeout)
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout("no answer in time") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from None

    async def aclose(self) -> None:
        self._pending.clear()
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("TLS is not spoken over the plain-HTTP layer")

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle connection the server closed is not reused
            return self._reader.at_eof() or self._writer.transport.is_closing()
        names = {"socket": "socket", "client_addr": "sockname", "server_addr": "peername"}
        return self._writer.get_extra_info(names[info]) if info in names else None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """TCP connections as `AsyncioStream`s."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        local = None if local_address is None else (local_address, 0)
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(host, port, local_addr=local)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection to {host}:{port} in time") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from None
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
