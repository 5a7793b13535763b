"""An aiohttp app of your own with Rankion's HTTP API mounted under ``/rankion``.

The API runs as a sub-application: its routes, its token auth and its workers (started
and stopped with the host app) live under the prefix, and every URL it hands out
carries it (``/rankion/v1/images/12``, ``http://…/rankion/files/…``). Data: SQLite and
a blob folder in ``--data`` (make a team and a token with ``rankion team create`` and
``rankion token create --data-dir DATA``).

    python examples/aiohttp_host.py --port 8000 --data ./host-data
"""

from __future__ import annotations

import argparse

from aiohttp import web

from rankion_server.app import create_app
from rankion_server.config import ServerConfig


async def home(request: web.Request) -> web.Response:
    return web.json_response({"app": "host", "rankion": "/rankion/v1/"})


def host_app(port: int, data: str) -> web.Application:
    config = ServerConfig.from_options(
        data_dir=data, public_url=f"http://127.0.0.1:{port}", workers=2, poll_seconds=0.2
    )
    host = web.Application()
    host.router.add_get("/", home)
    host.add_subapp("/rankion", create_app(config, web_app=False))
    return host


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data", default="./host-data")
    args = parser.parse_args()
    web.run_app(host_app(args.port, args.data), host="127.0.0.1", port=args.port)
