"""Export ZIP throughput next to a plain file copy of the same bytes, with peak memory.

    .venv/bin/python -m benchmarks.export_zip [--images 500] [--mb 1] [--dir /tmp] [--runs 2]

Seeds ``--images`` images of ``--mb`` MB each into a SQLite database and a local blob
folder: random bytes behind a PNG signature (the export streams blobs as stored and
never decodes them), rows added through the storage port as ``ready``. Then, each in
a fresh subprocess so that its peak RSS is its own:

- **copy**: every blob file read in 1 MiB chunks and appended to one file in the same
  folder, fsynced at the end: what ``cat blobs/* > all`` costs on this disk;
- **export**: ``Exports.start`` and the job run, the ZIP streamed into the blob store
  (which also writes a temporary file, fsyncs it and renames it into place), in a
  process whose allocator is set up as ``rankion serve`` and ``rankion worker`` set
  theirs (``rankion_server.allocator``).

Both read blobs just written (so from the page cache) and write to the same disk.
It prints time, MB/s, the export's throughput as a share of the copy's, and the peak
RSS of each subprocess with its growth over the phase (``ru_maxrss`` before and
after): at a fifth of the images and at all of them, so one sees the export's
memory not growing with its size. Each figure is the best of ``--runs``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.models import ExportStatus, Image, ProcessingStatus
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_server.allocator import keep_chunk_memory
from rankion_sqlalchemy import open_storage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHUNK = 1 << 20


def open_app(folder: Path) -> Rankion:
    deps = Deps(
        storage=open_storage(f"sqlite:///{folder / 'rankion.db'}"),
        blobs=open_blob_store(str(folder / "blobs")),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"benchmark-secret-0123456789", "http://bench"),
    )
    return Rankion(deps)


async def close_app(app: Rankion) -> None:
    await app.deps.blobs.close()
    await app.deps.storage.close()


# ---------------------------------------------------------------- seeding


async def seed(folder: Path, images: int, size: int) -> None:
    app = open_app(folder)
    try:
        await app.deps.storage.migrate()
        team = await app.accounts.create_team("bench", 0)
        now = datetime.now(UTC)
        rows = []
        for n in range(images):
            data = PNG_SIGNATURE + os.urandom(size - len(PNG_SIGNATURE))
            key = await app.deps.blobs.put(data, kind="images", ext="png", content_type="image/png")
            rows.append(_ready_image(team.id, n, key, size, now))
        async with app.deps.storage.unit_of_work() as uow:
            for image in rows:
                await uow.images.add(image)
            await uow.commit()
    finally:
        await close_app(app)


def _ready_image(team_id: int, n: int, key: str, size: int, now: datetime) -> Image:
    return Image(
        id=0,
        team_id=team_id,
        prompt=f"benchmark picture {n}",
        model="procedural-v1",
        size="1024x1024",
        quality="auto",
        title=f"Picture {n}",
        processing_status=ProcessingStatus.READY,
        blob_key=key,
        mime_type="image/png",
        width=1024,
        height=1024,
        bytes=size,
        created_at=now,
        updated_at=now,
    )


# ---------------------------------------------------------------- the two phases (in a child)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def copy_phase(folder: Path) -> dict[str, Any]:
    paths = sorted((folder / "blobs" / "images").rglob("*.png"))
    target = folder / "blobs" / "copy.bin"
    before = peak_rss_mb()
    started = time.perf_counter()
    size = 0
    with target.open("wb") as out:
        for path in paths:
            with path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    seconds = time.perf_counter() - started
    target.unlink()
    return {"seconds": seconds, "bytes": size, "rss_before": before, "rss_peak": peak_rss_mb()}


async def export_phase(folder: Path) -> dict[str, Any]:
    app = open_app(folder)
    try:
        async with app.deps.storage.unit_of_work() as uow:
            team = await uow.teams.get_by_name("bench")
        assert team is not None
        actor = Actor(team_id=team.id)
        ids = list(range(1, _count_images(folder) + 1))
        before = peak_rss_mb()
        started = time.perf_counter()
        export = await app.exports.start(actor, ids)
        await app.run_pending()
        seconds = time.perf_counter() - started
        peak = peak_rss_mb()
        view = await app.exports.status(actor, export.job_id)
        assert view.export.status is ExportStatus.READY, view.export.error
        assert view.export.blob_key is not None
        path = folder / "blobs" / view.export.blob_key
        with zipfile.ZipFile(path) as archive:
            entries = len(archive.namelist())
        assert entries == len(ids) + 1, f"{entries} entries for {len(ids)} images"
        size = path.stat().st_size
        await app.deps.blobs.delete(view.export.blob_key)
        return {"seconds": seconds, "bytes": size, "rss_before": before, "rss_peak": peak}
    finally:
        await close_app(app)


def _count_images(folder: Path) -> int:
    return sum(1 for _ in (folder / "blobs" / "images").rglob("*.png"))


def child(phase: str, folder: Path) -> None:
    if phase == "export":
        keep_chunk_memory(os.environ)  # as ``rankion serve`` and ``rankion worker`` do
    result = copy_phase(folder) if phase == "copy" else asyncio.run(export_phase(folder))
    print(json.dumps(result))


def run_child(phase: str, folder: Path) -> dict[str, Any]:
    argv = [sys.executable, "-m", "benchmarks.export_zip", "--child", phase, "--dir", str(folder)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------- the report


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "rss_peak": max(r["rss_peak"] for r in runs)}


def line(label: str, result: dict[str, Any]) -> str:
    mb = result["bytes"] / 1e6
    growth = result["rss_peak"] - result["rss_before"]
    return (
        f"    {label:<7} {result['seconds']:7.2f} s  {mb / result['seconds']:7.0f} MB/s  "
        f"peak RSS {result['rss_peak']:6.0f} MB (+{growth:4.0f} MB during the phase)"
    )


def measure(base: Path, images: int, size: int, runs: int) -> None:
    base.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="rankion-bench-export-", dir=base))
    try:
        asyncio.run(seed(folder, images, size))
        copies, exports = [], []
        for _ in range(runs):  # alternate, so both see the same cache and disk state
            copies.append(run_child("copy", folder))
            exports.append(run_child("export", folder))
        copy, export = best(copies), best(exports)
        ratio = (export["bytes"] / export["seconds"]) / (copy["bytes"] / copy["seconds"])
        total = images * size / 1e6
        print(f"  {images} images x {size / 1e6:.0f} MB = {total:.0f} MB")
        print(line("copy", copy))
        print(line("export", export))
        print(f"    export throughput = {ratio:.2f} x plain copy")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--mb", type=float, default=1.0, help="MB per image")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where to put the data")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--child", choices=["copy", "export"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, Path(args.dir))
        return
    size = int(args.mb * 1e6)
    print(f"export ZIP vs plain copy, on {os.path.abspath(args.dir)} (best of {args.runs})")
    for images in sorted({max(1, args.images // 5), args.images}):
        measure(Path(args.dir), images, size, args.runs)


if __name__ == "__main__":
    main()
