"""Compressed request bodies: read within the size limit as the handler reads them;
one answered before it was read to the end closes its connection, so the rest is
never inflated (aiohttp would read it to keep the connection, on the event loop)."""

from __future__ import annotations

import asyncio
import gzip
import re
import zlib

import orjson

from .conftest import ClientFactory, config, start

#: a deflate body of ~100 KB that inflates to 96 MiB of JSON
_pack = zlib.compressobj(9)
BOMB = b"".join(
    [
        _pack.compress(b'{"name": "'),
        *(_pack.compress(b"a" * (1 << 20)) for _ in range(96)),
        _pack.compress(b'"}'),
        _pack.flush(),
    ]
)


class Connection:
    """One connection of a test, its requests written by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def send(self, head: str, body: bytes) -> tuple[bytes, bytes]:
        """The answer's head and body."""
        self.writer.write(
            f"{head}\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await self.writer.drain()
        answer = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 10)  # a guard only
        length = re.search(rb"(?i)content-length: *(\d+)", answer)
        assert length is not None
        return answer, await self.reader.readexactly(int(length.group(1)))

    def close(self) -> None:
        self.writer.close()


async def test_a_compressed_body_answered_unread_ends_its_connection(
    aiohttp_client: ClientFactory,
) -> None:
    api = await start(aiohttp_client, config())
    port, auth = api.client.server.port, api.a.auth["Authorization"]
    assert len(BOMB) < 200_000
    for head, status, code in (
        ("POST /v1/projects HTTP/1.1\r\nContent-Encoding: deflate", 401, "unauthorized"),
        (
            f"POST /v1/projects HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Encoding: deflate",
            413,
            "payload_too_large",
        ),
    ):
        connection = await Connection.open(port)
        try:
            answer, body = await connection.send(head, BOMB)
            assert answer.startswith(f"HTTP/1.1 {status}".encode()), answer
            assert orjson.loads(body)["error"]["code"] == code
            # the end of the connection, not the rest of the body read (and inflated)
            # to keep it
            assert await asyncio.wait_for(connection.reader.read(), 10) == b""
        finally:
            connection.close()
    assert (await api.get("/v1/projects")).status == 200


async def test_a_compressed_body_read_whole_keeps_its_connection(
    aiohttp_client: ClientFactory,
) -> None:
    api = await start(aiohttp_client, config())
    port, auth = api.client.server.port, api.a.auth["Authorization"]
    head = f"POST /v1/projects HTTP/1.1\r\nAuthorization: {auth}\r\nContent-Encoding: gzip"
    connection = await Connection.open(port)
    try:
        for name in ("Zipped", "Again"):  # the second on the same connection
            answer, body = await connection.send(head, gzip.compress(orjson.dumps({"name": name})))
            assert answer.startswith(b"HTTP/1.1 201"), answer
            assert orjson.loads(body)["data"]["name"] == name
    finally:
        connection.close()
