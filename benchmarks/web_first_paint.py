"""The web app's first load with 10,000 images: page weight and time to first thumbnails.

    .venv/bin/python -m benchmarks.web_first_paint [--rows 10000] [--runs 15]

Seeds (once) the same SQLite data dir as ``benchmarks.list_endpoint`` and gives every
ready image a real thumbnail blob, starts ``rankion serve --no-workers`` on it, signs a
headless Debian chromium in, and loads ``/app`` ``--runs`` times (after one warm-up),
each time in a fresh browser context (a cold cache) carrying the session cookie,
measuring in the page with the Performance API, from the start of the navigation:

- **first thumbnail**: the first ``<img>`` of the grid painted (Element Timing API:
  the first twelve tiles carry ``elementtiming``);
- **12 thumbnails**: the first twelve (what a 1280 px screen shows) painted;
- **weight**: the bytes of HTML + CSS + JS the browser took (thumbnails aside).

The baseline, in the same run and the same browser: a blank page holding only the same
twelve ``<img>`` tags (the signed thumbnail URLs the gallery handed out), so the ratio
is what the app adds to fetching and painting those thumbnails from this server.
Everything stays on 127.0.0.1. Figures are medians; it prints, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sqlite3
import statistics
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from rankion_procedural.codec import placeholder
from tests.e2e.browser import CHROMIUM_ARGS, chromium_path

from .list_endpoint import _free_port, prepare_sqlite, running

ABOVE_THE_FOLD = 12

#: in the page: when the first thumbnails were painted (Element Timing: each
#: ``elementtiming`` image's renderTime), from ``since`` (ms after the navigation start)
PAINTED = """async ([count, since]) => {
  const seen = new Map();
  await new Promise((done) => {
    const take = (list) => {
      for (const e of list.getEntries()) if (e.identifier === 'thumb') seen.set(e.url, e);
      if (seen.size >= count) done();
    };
    new PerformanceObserver(take).observe({ type: 'element', buffered: true });
    setTimeout(done, 10000);
  });
  const times = [...seen.values()]
    .map((e) => (e.renderTime || e.loadTime) - since)
    .sort((a, b) => a - b);
  const nav = performance.getEntriesByType('navigation')[0];
  const assets = performance.getEntriesByType('resource')
    .filter((r) => /\\/app\\/static\\/.+\\.(js|css)/.test(r.name));
  return {
    first: times[0], all: times[count - 1], painted: times.length,
    html: nav ? nav.decodedBodySize : 0,
    assets: assets.reduce((n, r) => n + r.decodedBodySize, 0),
  };
}"""

#: the baseline: the same thumbnails as bare images on a blank page of the same origin
INJECT = """(urls) => {
  const since = performance.now();
  document.body.innerHTML = urls.map((u) =>
    `<img elementtiming="thumb" src="${u}" width="150" height="150">`).join('');
  return since;
}"""


def give_thumbnails(data_dir: Path) -> None:
    """A real 256 px WebP at every ready image's thumbnail key (the seed only names them),
    and its ThumbHash as the image's placeholder, as a generation job leaves them."""
    buffer = io.BytesIO()
    picture = Image.new("RGB", (256, 256), (120, 140, 180))
    ImageDraw.Draw(picture).ellipse((48, 48, 208, 208), fill=(230, 180, 60))
    picture.save(buffer, "WEBP", quality=60)
    body = buffer.getvalue()
    with sqlite3.connect(data_dir / "rankion.db") as con:
        con.execute(
            "UPDATE images SET placeholder = ? WHERE thumbnail_key IS NOT NULL",
            (placeholder(picture),),
        )
        keys = [
            k
            for (k,) in con.execute(
                "SELECT thumbnail_key FROM images WHERE thumbnail_key IS NOT NULL"
            )
        ]
    folders = {str(Path(k).parent) for k in keys}
    for folder in folders:
        (data_dir / "blobs" / folder).mkdir(parents=True, exist_ok=True)
    for key in keys:
        path = data_dir / "blobs" / key
        if not path.exists() or path.read_bytes() != body:
            path.write_bytes(body)


async def measure(
    base: str, token: str, runs: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each load in a fresh browser context (a cold HTTP cache), signed in by cookie."""
    from playwright.async_api import async_playwright

    app: list[dict[str, Any]] = []
    floor: list[dict[str, Any]] = []
    viewport = {"width": 1280, "height": 860}
    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        first = await browser.new_context(viewport=viewport)
        page = await first.new_page()
        await page.goto(base + "/app/sign-in")
        await page.fill("#token", token)
        await page.click("button[type=submit]")
        await page.wait_for_url(base + "/app")
        cookies = await first.cookies()
        urls = await page.eval_on_selector_all(
            "#grid img", f"(imgs) => imgs.slice(0, {ABOVE_THE_FOLD}).map((i) => i.src)"
        )
        await first.close()
        for n in range(runs + 1):
            context = await browser.new_context(viewport=viewport)
            await context.add_cookies(cookies)
            page = await context.new_page()
            await page.goto(base + "/app", wait_until="commit")
            figures = await page.evaluate(PAINTED, [ABOVE_THE_FOLD, 0])
            await context.close()
            context = await browser.new_context(viewport=viewport)
            page = await context.new_page()
            await page.goto(base + "/app/static/app.css")
            since = await page.evaluate(INJECT, urls)
            probe = await page.evaluate(PAINTED, [ABOVE_THE_FOLD, since])
            await context.close()
            if n:  # the first round warms the server up
                app.append(figures)
                floor.append(probe)
        await browser.close()
    return app, floor


def median(rows: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench"))
    args = parser.parse_args()
    target = prepare_sqlite(args.dir, args.rows)
    data_dir = Path(target.where[1])
    give_thumbnails(data_dir)
    token = target.token()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with running(target.serve_command(port), base + "/healthz", {}):
        app, floor = asyncio.run(measure(base, token, args.runs))
    html, assets = median(app, "html"), median(app, "assets")
    print(f"web_first_paint: {args.rows:,} images, {args.runs} loads of /app at 1280 px, medians")
    print("| figure | /app | baseline (12 bare <img>) | ratio |")
    print("|---|---|---|---|")
    for key, label in (
        ("first", "first thumbnail painted"),
        ("all", f"{ABOVE_THE_FOLD} thumbnails painted"),
    ):
        a, b = median(app, key), median(floor, key)
        print(f"| {label} | {a:.0f} ms | {b:.0f} ms | {a / b if b else float('nan'):.1f} |")
    weight = f"{(html + assets) / 1024:.1f} KB (HTML {html / 1024:.1f} KB)"
    print(f"| first load, HTML + CSS + JS | {weight} | — | target ≤ 150 KB |")


if __name__ == "__main__":
    main()
