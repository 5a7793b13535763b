"""Time per image for all renditions, against Pillow's own encode of the same sizes.

    .venv/bin/python -m benchmarks.renditions [--runs R] [--size WxH]

For one procedural picture (default 1024x1536 PNG) it times, alternately in the same
run, ``PillowCodec.web_ready`` (decode, upright, placeholder, perceptual hash, clean
copy, webp and avif at each width of ``rules.renditions``) and the baseline: Pillow
alone decoding the PNG and, for each of the same sizes and formats, resizing and
saving with the same encoder settings. It prints the medians and their ratio (target
≤ 1.2x). CPU-bound and single-threaded; on a shared machine compare the ratio only.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image

from rankion_core.ports import GenerateSpec
from rankion_core.rules import renditions
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_procedural.codec import RENDITION_OPTIONS


def baseline(data: bytes, sizes: list[tuple[int, int]]) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        for size in sizes:
            resized = image.resize(size, Image.Resampling.LANCZOS)
            for fmt in renditions.FORMATS:
                resized.save(io.BytesIO(), **RENDITION_OPTIONS[fmt])  # type: ignore[arg-type]


def timed(work: Callable[[], object], into: list[float]) -> None:
    start = time.perf_counter()
    work()
    into.append((time.perf_counter() - start) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", default="1024x1536")
    args = parser.parse_args()
    spec = GenerateSpec("a lighthouse", "procedural-v1", args.size, "auto")
    made = asyncio.run(ProceduralProvider().generate(spec))
    data = made.data
    info = PillowCodec().inspect(data)
    sizes = renditions.sizes(info.width, info.height)
    codec = PillowCodec()
    ours: list[float] = []
    pillow: list[float] = []
    for _ in range(args.runs):  # alternate, so both see the same load
        timed(lambda: codec.web_ready(data, sizes, renditions.FORMATS), ours)
        timed(lambda: baseline(data, sizes), pillow)
    a, b = statistics.median(ours), statistics.median(pillow)
    print(
        f"{info.width}x{info.height}: {len(sizes) * len(renditions.FORMATS)} renditions  "
        f"web_ready {a:7.1f} ms  Pillow alone {b:7.1f} ms  ratio {a / b:4.2f}x"
    )


if __name__ == "__main__":
    main()
