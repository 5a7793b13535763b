"""The public share page: plain HTML and CSS, no scripts, every value escaped.

Link previews read its Open Graph and Twitter tags; ``og:image`` is the absolute URL
of ``/s/{token}/image``. The page itself shows the image through a short-lived signed
URL (``routes.public``), so one visit counts one view and a revoked share's links die
within a minute. Unknown, revoked, expired or trashed shares all get the
same ``404`` page, byte for byte.
"""

from __future__ import annotations

from html import escape

from attrs import define

from rankion_core.models import Image

#: served with every share page: nothing runs, nothing frames it, nothing leaks
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self' https: http: data:; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # kept only if revalidated: ETag → 304, revoked → 404
}

_STYLE = """
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;
background:radial-gradient(circle at 30% 20%,#263043,#0d1117 70%);color:#e6edf3;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:24px}
main{max-width:960px;width:100%;background:#161b22cc;border:1px solid #30363d;
border-radius:16px;overflow:hidden;box-shadow:0 20px 60px #0008}
figure{margin:0;background:#0d1117;display:flex;justify-content:center}
img{display:block;max-width:100%;max-height:75vh;width:auto;height:auto}
.meta{padding:20px 24px}
h1{margin:0 0 6px;font-size:1.35rem;font-weight:600}
p{margin:0;color:#9da7b3}
footer{padding:12px 24px;border-top:1px solid #30363d;color:#6e7681;font-size:.85rem}
"""


@define(frozen=True)
class PageData:
    title: str
    description: str
    image_url: str
    og_image_url: str
    page_url: str
    width: int | None
    height: int | None
    mime_type: str | None


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def page_data(image: Image, *, image_url: str, page_url: str) -> PageData:
    return PageData(
        title=_short(image.title or image.prompt or "Shared image", 120),
        description=_short(image.prompt, 300),
        image_url=image_url,
        og_image_url=f"{page_url}/image",
        page_url=page_url,
        width=image.width,
        height=image.height,
        mime_type=image.mime_type,
    )


def _meta(prop: str, content: str | int, attr: str = "property") -> str:
    return f'<meta {attr}="{escape(prop)}" content="{escape(str(content))}">'


def _head(data: PageData) -> str:
    tags = [
        _meta("og:type", "website"),
        _meta("og:title", data.title),
        _meta("og:description", data.description),
        _meta("og:url", data.page_url),
        _meta("og:image", data.og_image_url),
        _meta("og:image:alt", data.title),
        _meta("twitter:card", "summary_large_image", "name"),
        _meta("twitter:title", data.title, "name"),
        _meta("twitter:image", data.og_image_url, "name"),
        _meta("description", data.description, "name"),
    ]
    if data.width and data.height:
        tags += [_meta("og:image:width", data.width), _meta("og:image:height", data.height)]
    if data.mime_type:
        tags.append(_meta("og:image:type", data.mime_type))
    return "\n".join(tags)


def _fit(width: int, height: int) -> str:
    """The image's box, known before its bytes arrive: as wide as the page, the image
    itself and 75vh at its aspect ratio allow (the ``width``/``height`` attributes give
    the height). ``width: auto`` alone keeps the ratio too, but is zero by zero until the image
    has loaded: the page would jump."""
    return f"img{{width:min(100%,{width}px,calc(75vh * {width} / {height}))}}"


def render(data: PageData) -> str:
    size = f' width="{data.width}" height="{data.height}"' if data.width and data.height else ""
    fit = _fit(data.width, data.height) if data.width and data.height else ""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>{escape(data.title)}</title>
{_head(data)}
<style>{_STYLE}{fit}</style>
</head>
<body>
<main>
<figure><img src="{escape(data.image_url)}" alt="{escape(data.title)}"{size}></figure>
<div class="meta"><h1>{escape(data.title)}</h1><p>{escape(data.description)}</p></div>
<footer>Shared with Rankion</footer>
</main>
</body>
</html>
"""


NOT_FOUND_HTML = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>Not found</title>
<style>{_STYLE}</style>
</head>
<body>
<main><div class="meta"><h1>This share is not available</h1>
<p>The link may be mistyped, expired or revoked.</p></div>
<footer>Rankion</footer></main>
</body>
</html>
"""
