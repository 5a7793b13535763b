"""How long the procedural provider takes at 1024x1024, next to a plain Pillow baseline.

    .venv/bin/python benchmarks/procedural.py [--runs 25]

The baseline is ``Image.new(...).save(PNG)`` at the same size in the same run: the
cheapest possible "make a 1024x1024 PNG", so the ratio says what drawing costs on
this machine whatever its speed. Most of a PNG generate is Pillow's PNG encoder
(as it is most of the baseline); the JPEG row shows the drawing with a cheap encoder.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import time
from collections.abc import Awaitable, Callable

from PIL import Image

from rankion_core.ports import EditSpec, GenerateSpec
from rankion_procedural import ProceduralProvider

SIZE = "1024x1024"


Task = Callable[[int], Awaitable[object]]


async def _medians_ms(runs: int, tasks: dict[str, Task]) -> dict[str, float]:
    """Run the tasks round-robin (so a busy neighbour slows them all alike)."""
    times: dict[str, list[float]] = {label: [] for label in tasks}
    for task in tasks.values():
        await task(-1)  # warm-up: imports, thread pool, Pillow's lazy plugin loading
    for i in range(runs):
        for label, task in tasks.items():
            started = time.perf_counter()
            await task(i)
            times[label].append((time.perf_counter() - started) * 1000)
    return {label: statistics.median(values) for label, values in times.items()}


async def _baseline(_: int) -> None:
    Image.new("RGB", (1024, 1024), (40, 120, 200)).save(io.BytesIO(), "PNG")


async def main(runs: int) -> None:
    provider = ProceduralProvider()

    async def generate(i: int) -> object:
        return await provider.generate(GenerateSpec(f"a lake at dusk #{i}", "m", SIZE, "medium"))

    async def generate_jpeg(i: int) -> object:
        spec = GenerateSpec(f"a lake at dusk #{i}", "m", SIZE, "medium", output_format="jpeg")
        return await provider.generate(spec)

    source = (await provider.generate(GenerateSpec("mountains", "m", SIZE, "medium"))).data

    async def edit(i: int) -> object:
        return await provider.edit(source, EditSpec(f"golden hour #{i}", "m", SIZE, "medium"))

    medians = await _medians_ms(
        runs,
        {
            "baseline Image.new().save(PNG)": _baseline,
            "procedural generate (png)": generate,
            "procedural generate (jpeg)": generate_jpeg,
            "procedural edit (png)": edit,
        },
    )
    baseline = medians["baseline Image.new().save(PNG)"]
    print(f"1024x1024, median of {runs} round-robin runs")
    for label, ms in medians.items():
        print(f"  {label:<32} {ms:7.1f} ms   x{ms / baseline:4.2f} baseline")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    asyncio.run(main(parser.parse_args().runs))
