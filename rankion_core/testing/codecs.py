"""The ``ImageCodec`` contract: describe what is a whole allowed image, refuse the
rest with ``Invalid``, make WebP thumbnails, check edit masks.

Subclass ``CodecContract`` and implement ``make_codec``. The sample images are PNGs
written by ``rankion_core.testing.png`` (PNG is the one type every codec reads).
"""

from __future__ import annotations

import pytest

from rankion_core.errors import Invalid
from rankion_core.ports import ImageCodec, ImageInfo
from rankion_core.testing.png import png

NOT_IMAGES = [b"", b"not an image at all", png(40, 30)[:60], b"\x89PNG\r\n\x1a\n" + b"\0" * 64]


class CodecContract:
    """Every codec test: subclass it and implement ``make_codec``."""

    request: pytest.FixtureRequest

    def make_codec(self) -> ImageCodec:
        raise NotImplementedError(f"{type(self).__name__} must implement make_codec()")

    @pytest.fixture
    def codec(self, request: pytest.FixtureRequest) -> ImageCodec:
        self.request = request
        return self.make_codec()

    @pytest.mark.parametrize("alpha", [False, True])
    def test_inspect_describes_a_png(self, codec: ImageCodec, alpha: bool) -> None:
        assert codec.inspect(png(40, 30, alpha=alpha)) == ImageInfo(40, 30, "image/png", "png")

    @pytest.mark.parametrize("data", NOT_IMAGES, ids=["empty", "text", "truncated", "no-chunks"])
    def test_what_is_not_a_whole_image_is_invalid(self, codec: ImageCodec, data: bytes) -> None:
        with pytest.raises(Invalid):
            codec.inspect(data)
        with pytest.raises(Invalid):
            codec.thumbnail(data)

    def test_more_than_max_bytes_is_invalid(self, codec: ImageCodec) -> None:
        image = png(8, 8)
        assert codec.inspect(image).width == 8
        with pytest.raises(Invalid):
            codec.inspect(image + b"\0" * (codec.max_bytes + 1 - len(image)))

    @pytest.mark.parametrize(
        ("size", "max_side", "expected"),
        [((300, 150), 100, (100, 50)), ((150, 300), 60, (30, 60)), ((64, 64), 256, (64, 64))],
    )
    def test_a_thumbnail_is_a_webp_within_max_side_with_the_aspect_kept(
        self,
        codec: ImageCodec,
        size: tuple[int, int],
        max_side: int,
        expected: tuple[int, int],
    ) -> None:
        info = codec.inspect(codec.thumbnail(png(*size), max_side=max_side))
        assert (info.mime_type, info.ext) == ("image/webp", "webp")
        assert max(info.width, info.height) <= max_side
        assert abs(info.width - expected[0]) <= 1
        assert abs(info.height - expected[1]) <= 1

    def test_a_thumbnail_keeps_transparency_readable(self, codec: ImageCodec) -> None:
        info = codec.inspect(codec.thumbnail(png(80, 40, alpha=True), max_side=40))
        assert (info.width, info.height, info.ext) == (40, 20, "webp")

    def test_a_png_mask_with_alpha_of_the_image_size_passes(self, codec: ImageCodec) -> None:
        codec.check_mask(png(40, 30, alpha=True), 40, 30)

    @pytest.mark.parametrize(
        "mask",
        [png(40, 30), png(30, 40, alpha=True), b"not a mask", b""],
        ids=["no-alpha", "other-size", "text", "empty"],
    )
    def test_any_other_mask_is_invalid_naming_mask(self, codec: ImageCodec, mask: bytes) -> None:
        with pytest.raises(Invalid) as refused:
            codec.check_mask(mask, 40, 30)
        assert list(refused.value.details or {}) == ["mask"]
