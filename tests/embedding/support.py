"""What the example tests share: an example host app run as a real process."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

from attrs import define, field

from tests.e2e.support import RUNNING, Process, clean_env

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@define
class Example(Process):
    """An example app (not the ``rankion`` command) as a ``Process``: ``python`` with
    ``args``; ready when ``health`` answers 200 (with ``health_headers``)."""

    health: str = "/"
    health_headers: dict[str, str] = field(factory=dict)

    def start(self) -> Example:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(self.env),
                start_new_session=True,
            )
        RUNNING.append(self)
        return self

    def _healthy(self) -> bool:
        request = urllib.request.Request(self.base_url + self.health, headers=self.health_headers)
        try:
            with urllib.request.urlopen(request, timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False
