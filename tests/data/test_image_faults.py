"""The image fault battery: each kind ends in an ImageLoadError naming the image, or decodes to the right values."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from data_helpers import png_header_only, save_image
from PIL import Image, ImageFile

from fvl.data.images import MAX_IMAGE_PIXELS, ImageLoadError, load_image

RAMP = np.arange(256)  # one row of every 8-bit level


def grey_row(ref) -> np.ndarray:
    """The first row of the decoded image, as ints, after checking the three channels agree."""
    pixels = np.asarray(load_image(ref)).astype(int)
    assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()
    return pixels[0, :, 0]


def saved(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


# -- faults that end in an error --------------------------------------------------------------------------------


def test_corrupt_bytes_name_the_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    with pytest.raises(ImageLoadError, match=r"cannot decode image file '.*corrupt\.png'"):
        load_image(corrupt)
    with pytest.raises(ImageLoadError, match=r"cannot decode image bytes \(12 bytes\)"):
        load_image(b"not an image")


def test_a_zero_byte_file_is_named(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    with pytest.raises(ImageLoadError, match=r"zero-size image file '.*empty\.jpg'"):
        load_image(str(empty))


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_truncated_files_fail_even_where_pil_is_told_to_pad_them(tmp_path: Path, monkeypatch, kind: str) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format=kind)
    truncated = tmp_path / f"half.{kind.lower()}"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)  # as some libraries set it for everyone
    with pytest.raises(ImageLoadError, match=rf"cannot decode image file '.*half\.{kind.lower()}'.*truncated"):
        load_image(truncated)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored for the others


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", 12000, 12000)  # PIL alone would only warn
    with pytest.raises(ImageLoadError) as error:
        load_image(bomb)
    message = str(error.value)
    assert "bomb.png" in message and "12000x12000 = 144,000,000 pixels" in message
    assert f"max_image_pixels={MAX_IMAGE_PIXELS:,}" in message and "raise data.max_image_pixels" in message
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # PIL's own setting is back


def test_the_pixel_limit_just_under_and_just_over(tmp_path: Path) -> None:
    path = save_image(tmp_path / "a.png", size=(100, 50))
    assert load_image(path, max_pixels=5000).size == (100, 50)
    with pytest.raises(ImageLoadError, match=r"100x50 = 5,000 pixels, more than max_image_pixels=4,999"):
        load_image(path, max_pixels=4999)
    assert load_image(Image.new("RGB", (100, 50)), max_pixels=None).size == (100, 50)  # None: no limit


def test_non_finite_float_pixels_are_an_error(tmp_path: Path) -> None:
    values = np.zeros((2, 4), dtype=np.float32)
    values[1, 2] = np.nan
    path = saved(Image.fromarray(values), tmp_path / "nan.tif")
    with pytest.raises(ImageLoadError, match=r"'.*nan\.tif'.*NaN or infinite"):
        load_image(path)


def test_an_unknown_reference_type_is_an_error() -> None:
    with pytest.raises(ImageLoadError, match="unsupported image reference of type int"):
        load_image(5)


# -- kinds that decode, compared by value ------------------------------------------------------------------------


def test_cmyk_jpeg_becomes_the_matching_rgb(tmp_path: Path) -> None:
    image = Image.new("CMYK", (16, 8), (0, 255, 255, 0))  # pure red in ink
    image.paste((50, 100, 150, 30), (8, 0, 16, 8))
    path = saved(image, tmp_path / "print.jpg", quality=100)
    decoded = np.asarray(load_image(path)).astype(int)
    # (255 - C) (255 - K) / 255 per channel: (50, 100, 150, 30) -> (181, 137, 93)
    assert np.abs(decoded[4, 2] - (255, 0, 0)).max() <= 2 and np.abs(decoded[4, 13] - (181, 137, 93)).max() <= 2


def test_16_bit_png_keeps_its_gradient(tmp_path: Path) -> None:
    deep = Image.fromarray(np.tile(RAMP * 257, (2, 1)).astype(np.uint16))
    assert deep.mode == "I;16"
    assert np.abs(grey_row(saved(deep, tmp_path / "deep.png")) - RAMP).max() <= 1


def test_32_bit_integer_tiffs_scale_by_their_bit_depth(tmp_path: Path) -> None:
    full = (RAMP * (2**31 - 1) // 255).astype(np.int32)
    path = saved(Image.fromarray(np.tile(full, (2, 1))), tmp_path / "i32.tif")
    assert Image.open(path).mode == "I"
    assert np.abs(grey_row(path) - RAMP).max() <= 1
    sixteen = saved(Image.fromarray(np.tile(RAMP * 257, (2, 1)).astype(np.int32)), tmp_path / "i16.tif")
    assert np.abs(grey_row(sixteen) - RAMP).max() <= 1  # 16-bit data in 32 bits: by the 16-bit range
    eight = saved(Image.fromarray(np.tile(RAMP, (2, 1)).astype(np.int32)), tmp_path / "i8.tif")
    assert (grey_row(eight) == RAMP).all()  # 8-bit values are kept, not stretched or clipped
    signed = saved(Image.fromarray(np.tile(RAMP * 1000 - 100_000, (2, 1)).astype(np.int32)), tmp_path / "s.tif")
    assert np.abs(grey_row(signed) - RAMP).max() <= 1  # negative values: minimum to maximum


def test_32_bit_float_tiffs_scale_by_their_range(tmp_path: Path) -> None:
    unit = saved(Image.fromarray(np.tile(RAMP / 255, (2, 1)).astype(np.float32)), tmp_path / "unit.tif")
    assert Image.open(unit).mode == "F"
    assert np.abs(grey_row(unit) - RAMP).max() <= 1  # [0, 1] times 255
    levels = saved(Image.fromarray(np.tile(RAMP, (2, 1)).astype(np.float32)), tmp_path / "levels.tif")
    assert (grey_row(levels) == RAMP).all()  # [0, 255] kept
    wide = saved(Image.fromarray(np.tile(RAMP / 127.5 - 1, (2, 1)).astype(np.float32)), tmp_path / "wide.tif")
    assert np.abs(grey_row(wide) - RAMP).max() <= 1  # any other range: minimum to maximum


def test_palette_transparency_is_composited_onto_white(tmp_path: Path) -> None:
    palette = Image.new("P", (3, 1))
    palette.putpalette([0, 0, 0, 10, 200, 30, 0, 0, 0] + [0] * 759)
    palette.putdata([0, 1, 2])
    path = saved(palette, tmp_path / "p.png", transparency=bytes([0, 255, 128]))  # per-entry alpha
    pixels = [load_image(path).getpixel((x, 0)) for x in range(3)]
    assert pixels[0] == (255, 255, 255) and pixels[1] == (10, 200, 30)
    assert all(abs(channel - 127) <= 1 for channel in pixels[2])  # half-transparent black over white
    keyed = Image.new("RGB", (2, 1), (0, 0, 0))
    keyed.putpixel((1, 0), (200, 30, 30))
    keyed_path = saved(keyed, tmp_path / "keyed.png", transparency=(0, 0, 0))  # one colour is transparent
    assert [load_image(keyed_path).getpixel((x, 0)) for x in range(2)] == [(255, 255, 255), (200, 30, 30)]
    with_alpha = Image.new("PA", (1, 1), (1, 0))
    with_alpha.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    assert load_image(with_alpha).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("suffix", ["gif", "png"])
def test_animations_give_their_first_frame(tmp_path: Path, suffix: str) -> None:
    red, blue = Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 255))
    path = saved(red, tmp_path / f"anim.{suffix}", save_all=True, append_images=[blue])
    assert Image.open(path).n_frames == 2
    assert load_image(path).getpixel((4, 4)) == (255, 0, 0)
    moved = Image.open(path)
    moved.seek(1)  # an image handed over past its first frame
    assert load_image(moved).getpixel((4, 4)) == (255, 0, 0)
