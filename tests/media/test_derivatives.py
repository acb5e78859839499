"""Thumbnails and previews (media/derivatives.py) and the child process that makes them (media/sandbox.py, the
server's side, and media/sandbox_child.py, the child's). Each derivative is a render of its own; most tests
here make both (render(), both()) and check both.

Fixtures are made here (Pillow, PyAV, pillow-heif and hand-written bytes); the real phone and camera files
of ../shared/corpus/exif-samples are used when present, and their tests skip when it is not.
"""

from __future__ import annotations

import datetime
import io
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import pillow_heif
import pytest
import pyvips
from PIL import Image, ImageOps, features

from conftest import SHARED_CORPUS
from media_fixtures import ftyp, matroska, tiff_raw
from phonecloud.media import derivatives
from phonecloud.media.derivatives import MAX_PIXELS, PREVIEW, THUMBNAIL, Rendered, RenderError
from phonecloud.media.sandbox import RenderSandbox
from phonecloud.media.sniff import AVIF, GIF, HEIC, JPEG, MP4, PNG, TIFF, WEBP, MediaType, sniff
from media_fixtures import mp4_without_streams, png_declaring

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)
T = Image.Transpose
# For each EXIF orientation, the transform that turns what should be SEEN into what is STORED (the inverse
# of what a viewer applies), so that a correct viewer always shows the same picture.
STORED_FOR_ORIENTATION = {
    1: None, 2: T.FLIP_LEFT_RIGHT, 3: T.ROTATE_180, 4: T.FLIP_TOP_BOTTOM,
    5: T.TRANSPOSE, 6: T.ROTATE_90, 7: T.TRANSVERSE, 8: T.ROTATE_270,
}
CORPUS_ORIENTATION = SHARED_CORPUS / "jpg" / "orientation"
CORPUS_HEIF = sorted(
    path for path in (SHARED_CORPUS / "heic").rglob("*") if path.suffix.lower() in (".heic", ".heif")
) if (SHARED_CORPUS / "heic").is_dir() else []
CORPUS_BROKEN = sorted(
    path for pattern in ("jpg/invalid/*.jp*g", "jpg/tests/*.jp*g", "jpg/corrupted.jpg")
    for path in SHARED_CORPUS.glob(pattern)
) if SHARED_CORPUS.is_dir() else []
needs_corpus = pytest.mark.skipif(not SHARED_CORPUS.is_dir(), reason="../shared/corpus/exif-samples is not present")


@pytest.fixture(scope="module")
def sandbox():
    with RenderSandbox(timeout_seconds=60) as shared:
        yield shared


# --- helpers ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Both:
    """Both derivatives of one file, each made by a render of its own."""

    thumbnail: bytes
    preview: bytes
    width: int
    height: int
    damage: str | None


def both(renderer, path: str, media: MediaType) -> Both:
    """Both derivatives through renderer (derivatives.render or a sandbox's); the two renders must agree on
    what they read of the file."""
    thumbnail, preview = (renderer(path, media, name) for name in (THUMBNAIL, PREVIEW))
    assert (thumbnail.width, thumbnail.height) == (preview.width, preview.height)
    assert (thumbnail.damage is None) == (preview.damage is None)
    return Both(thumbnail.image, preview.image, thumbnail.width, thumbnail.height, thumbnail.damage)


def render(path: str, media: MediaType) -> Both:
    return both(derivatives.render, path, media)


def quadrants(size=(400, 300), top_left=RED, rest=BLUE) -> Image.Image:
    """Top-left quadrant one colour, the rest another: which way up it is shows in two pixels."""
    image = Image.new("RGB", size, rest)
    image.paste(top_left, (0, 0, size[0] // 2, size[1] // 2))
    return image


def oriented(seen: Image.Image, orientation: int) -> Image.Image:
    transform = STORED_FOR_ORIENTATION[orientation]
    return seen.copy() if transform is None else seen.transpose(transform)


def exif_with_orientation(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def decoded(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


def pixel(image: pyvips.Image, x: int, y: int) -> tuple[int, ...]:
    return tuple(int(round(value)) for value in image(x, y))


def is_near(actual, expected, tolerance=45) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected))


def assert_shows_quadrants(rendered: Both, top_left=RED, rest=BLUE):
    for name, data in (("thumbnail", rendered.thumbnail), ("preview", rendered.preview)):
        image = decoded(data)
        corner = pixel(image, 3, 3)
        far = pixel(image, image.width - 4, image.height - 4)
        assert is_near(corner, top_left), f"{name} top-left is {corner}, not {top_left}"
        assert is_near(far, rest), f"{name} bottom-right is {far}, not {rest}"


def assert_formats(rendered: Both):
    assert rendered.thumbnail[:4] == b"RIFF" and rendered.thumbnail[8:12] == b"WEBP"
    assert rendered.preview[:3] == b"\xff\xd8\xff"
    for data in (rendered.thumbnail, rendered.preview):
        fields = decoded(data).get_fields()
        assert not {"exif-data", "xmp-data", "icc-profile-data", "iptc-data"} & set(fields), fields
        assert b"Exif\x00\x00" not in data and b"ICC_PROFILE" not in data


def assert_sizes(rendered: Both, width: int, height: int):
    """Preview: long side 1440 or the original's; thumbnail: short side 250 or the preview's; never larger."""
    assert (rendered.width, rendered.height) == (width, height)
    preview, thumbnail = decoded(rendered.preview), decoded(rendered.thumbnail)
    assert max(preview.width, preview.height) == min(1440, max(width, height))
    assert (preview.width >= preview.height) == (width >= height)
    assert min(thumbnail.width, thumbnail.height) == min(250, min(preview.width, preview.height))
    assert thumbnail.width <= preview.width and thumbnail.height <= preview.height
    assert abs(thumbnail.width / thumbnail.height - width / height) < 0.05 * width / height + 0.02


def jpeg_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92, **options)
    return buffer.getvalue()


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG whose SOF0 frame header is edited to declare another size."""
    data = bytearray(jpeg_bytes(Image.new("RGB", (64, 48), BLUE)))
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def make_video(tmp_path: Path, name: str, frames: int, size=(320, 240), rotation: int | None = None,
                later=GREEN) -> str:
    """An H.264 video at 30 fps: the first 30 frames show the quadrants, later ones a plain colour. With a
    rotation, the frames are stored turned so that the display matrix brings the quadrants back upright."""
    path = str(tmp_path / name)
    seen = quadrants(size)
    stored = seen
    if rotation:  # displayed = stored turned `rotation` degrees counter-clockwise
        stored = seen.rotate(-rotation, expand=True)
    with av.open(path, "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = stored.size
        stream.pix_fmt = "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for index in range(frames):
            image = stored if index < 30 else Image.new("RGB", stored.size, later)
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def wait_until_dead(pid: int) -> None:
    """Until the process is a zombie (dead, not yet reaped by its parent); bounded."""
    for _ in range(1000):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return
        if state in ("Z", "X"):
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"process {pid} did not die")


def box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def audio_only_mp4(tmp_path: Path) -> str:
    path = str(tmp_path / "audio-only.mp4")
    with av.open(path, "w") as container:
        stream = container.add_stream("aac", rate=44100)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 44100, 0
        for packet in list(stream.encode(frame)) + list(stream.encode(None)):
            container.mux(packet)
    return path


# --- orientation --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_gives_an_upright_thumbnail(tmp_path, orientation):
    seen = quadrants()
    data = jpeg_bytes(oriented(seen, orientation), exif=exif_with_orientation(orientation))
    # The fixture itself is right: Pillow's own EXIF transpose shows red at the top left.
    assert is_near(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).getpixel((3, 3)), RED)
    rendered = render(write(tmp_path, f"o{orientation}.jpg", data), JPEG)
    assert_shows_quadrants(rendered)
    assert (rendered.width, rendered.height) == (400, 300)
    assert (decoded(rendered.thumbnail).width, decoded(rendered.thumbnail).height) == (333, 250)


@needs_corpus
@pytest.mark.parametrize("shape", ["landscape", "portrait"])
def test_corpus_orientation_samples_all_look_like_the_unrotated_one(shape):
    files = sorted(CORPUS_ORIENTATION.glob(f"{shape}_*.jpg"))
    assert len(files) == 8
    reference = decoded(render(str(CORPUS_ORIENTATION / f"{shape}_1.jpg"), JPEG).thumbnail)
    for path in files:
        rendered = render(str(path), JPEG)
        assert (rendered.width > rendered.height) == (shape == "landscape"), path.name
        thumbnail = decoded(rendered.thumbnail)
        assert (thumbnail.width, thumbnail.height) == (reference.width, reference.height), path.name
        # Pixels, not sizes: each matches orientation 1 closely, and not its mirror images.
        assert (thumbnail - reference).abs().avg() < 12, path.name
        assert (thumbnail - reference.fliphor()).abs().avg() > 25, path.name
        assert (thumbnail - reference.flipver()).abs().avg() > 25, path.name


@pytest.mark.parametrize("orientation", range(1, 9))
def test_heic_orientation_is_applied_once(tmp_path, orientation):
    """libheif turns and mirrors the picture by the HEIF irot/imir boxes while decoding; the EXIF
    orientation (still in the file, as phones write it) must not turn it a second time."""
    stored = oriented(quadrants(), orientation)
    heif = pillow_heif.from_bytes("RGB", stored.size, stored.tobytes())
    heif.info["exif"] = exif_with_orientation(orientation)
    buffer = io.BytesIO()
    heif.save(buffer, quality=90)
    data = buffer.getvalue()
    assert (b"irot" in data or b"imir" in data) == (orientation != 1)  # the transforms are in the file
    exif = Image.Exif()
    exif.load(pillow_heif.open_heif(io.BytesIO(data)).info["exif"])
    assert exif.get(0x0112) == orientation  # and so is the EXIF tag that must not be applied again
    rendered = render(write(tmp_path, f"o{orientation}.heic", data), HEIC)
    assert_shows_quadrants(rendered)
    assert (rendered.width, rendered.height) == (400, 300)


# --- sizes, formats, colour ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(4000, 3000), (3000, 4000), (1600, 1200), (1000, 800), (300, 200), (120, 90),
                                  (2000, 200), (1441, 250)])
def test_sizes_are_never_upscaled(tmp_path, size):
    rendered = render(write(tmp_path, "size.jpg", jpeg_bytes(quadrants(size))), JPEG)
    assert_sizes(rendered, *size)
    assert_formats(rendered)


def test_common_sizes_exactly(tmp_path):
    cases = {(4000, 3000): ((1440, 1080), (333, 250)), (3000, 4000): ((1080, 1440), (250, 333)),
             (300, 200): ((300, 200), (300, 200))}
    for size, (preview_size, thumbnail_size) in cases.items():
        buffer = io.BytesIO()
        quadrants(size).save(buffer, "PNG")
        rendered = render(write(tmp_path, f"{size[0]}x{size[1]}.png", buffer.getvalue()), PNG)
        preview, thumbnail = decoded(rendered.preview), decoded(rendered.thumbnail)
        assert (preview.width, preview.height) == preview_size
        assert (thumbnail.width, thumbnail.height) == thumbnail_size


def test_the_thumbnail_looks_as_when_it_was_made_from_the_preview(tmp_path):
    """The thumbnail is decoded straight from the file (a JPEG at 1/8 scale); it used to be resized from the
    preview. Same size, and the same picture within a level or two in 255."""
    image = Image.radial_gradient("L").resize((2800, 2100)).convert("RGB")
    image.paste(RED, (100, 100, 1300, 900))
    image.paste(GREEN, (1500, 1200, 2700, 2000))
    path = write(tmp_path, "gradient.jpg", jpeg_bytes(image))
    rendered = render(path, JPEG)
    made_before = decoded(rendered.preview).thumbnail_image(1440, height=250, size="down")
    thumbnail = decoded(rendered.thumbnail)
    assert (thumbnail.width, thumbnail.height) == (made_before.width, made_before.height) == (333, 250)
    assert (thumbnail - made_before).abs().avg() < 2.5


@pytest.mark.parametrize("size, shrink", [((4000, 3000), 8), ((2800, 2100), 8), ((1600, 1200), 4), ((800, 600), 2),
                                          ((400, 300), None), ((16000, 1000), 8), ((6000, 500), 4)])
def test_a_jpeg_thumbnail_is_decoded_at_the_smallest_scale_that_covers_it(tmp_path, monkeypatch, size, shrink):
    """libjpeg's own 1/8, 1/4 or 1/2 scale, the smallest whose pixels still cover the thumbnail: a 12 MP
    photo's thumbnail costs a fraction of a whole decode. The preview keeps libvips' own choice."""
    opened = []
    new_from_file = pyvips.Image.new_from_file

    def recorded(path, **options):
        opened.append(options.get("shrink"))
        return new_from_file(path, **options)

    monkeypatch.setattr(pyvips.Image, "new_from_file", recorded)
    rendered = derivatives.render(write(tmp_path, "big.jpg", jpeg_bytes(quadrants(size))), JPEG, THUMBNAIL)
    assert opened == [None] + ([shrink] if shrink else [])  # the header, then the decode at that scale
    thumbnail = decoded(rendered.image)
    expected = min(250, size[1]) if size[0] / size[1] <= 1440 / 250 else round(size[1] * 1440 / size[0])
    assert thumbnail.height == expected and abs(thumbnail.width / thumbnail.height - size[0] / size[1]) < 0.05


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_large_photo_of_every_orientation_gives_an_upright_thumbnail_at_1_8(tmp_path, orientation):
    """Decoded at 1/8 scale, then turned: the box is reckoned on the file's pixels as they lie."""
    seen = quadrants((2800, 2100))
    data = jpeg_bytes(oriented(seen, orientation), exif=exif_with_orientation(orientation))
    rendered = render(write(tmp_path, f"big-o{orientation}.jpg", data), JPEG)
    assert_shows_quadrants(rendered)
    assert (rendered.width, rendered.height) == (2800, 2100)
    assert (decoded(rendered.thumbnail).width, decoded(rendered.thumbnail).height) == (333, 250)
    assert (decoded(rendered.preview).width, decoded(rendered.preview).height) == (1440, 1080)


def test_only_the_two_derivatives_are_made(tmp_path, sandbox):
    path = write(tmp_path, "good.jpg", jpeg_bytes(quadrants()))
    with pytest.raises(ValueError, match="original"):
        derivatives.render(path, JPEG, "original")
    with pytest.raises(RenderError, match="rendering failed"):  # the child says so, and lives on
        sandbox.render(path, JPEG, "original")
    assert_shows_quadrants(both(sandbox.render, path, JPEG))


def test_metadata_is_stripped(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 1
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0), 3: "W", 4: (0.0, 7.0, 0.0)}  # GPS
    data = jpeg_bytes(quadrants((800, 600)), exif=exif.tobytes())
    assert b"PhoneMaker" in data
    rendered = render(write(tmp_path, "gps.jpg", data), JPEG)
    assert_formats(rendered)
    assert b"PhoneMaker" not in rendered.preview + rendered.thumbnail


def test_a_display_p3_photo_is_converted_to_srgb(tmp_path):
    srgb = pyvips.Image.black(600, 400, bands=3).new_from_image(list(RED)).cast("uchar").copy(interpretation="srgb")
    p3 = srgb.icc_transform("p3", input_profile="srgb")  # same colour, P3 numbers, P3 profile embedded
    data = p3.write_to_buffer(".jpg[Q=95]")
    assert decoded(data).get_typeof("icc-profile-data") != 0
    assert not is_near(pixel(decoded(data), 10, 10), RED, tolerance=12)  # the stored numbers differ...
    rendered = render(write(tmp_path, "p3.jpg", data), JPEG)
    for blob in (rendered.preview, rendered.thumbnail):
        assert is_near(pixel(decoded(blob), 10, 10), RED, tolerance=8)  # ...the sRGB output matches
    assert_formats(rendered)


def test_a_broken_icc_profile_is_ignored(tmp_path):
    data = jpeg_bytes(quadrants(), icc_profile=b"\x00\x00\x01\x00not a profile" * 20)
    rendered = render(write(tmp_path, "bad-icc.jpg", data), JPEG)
    assert_shows_quadrants(rendered)


@pytest.mark.parametrize("fmt, media", [("PNG", PNG), ("GIF", GIF), ("WEBP", WEBP), ("TIFF", TIFF), ("AVIF", AVIF)])
def test_other_photo_formats(tmp_path, fmt, media):
    if fmt == "AVIF" and not features.check("avif"):
        pytest.skip("this Pillow cannot write AVIF (Pillow 11.3 or later can)")
    buffer = io.BytesIO()
    quadrants((640, 480)).save(buffer, fmt)
    assert sniff(buffer.getvalue()[:4096]) == media
    rendered = render(write(tmp_path, f"image.{media.extension}", buffer.getvalue()), media)
    assert_shows_quadrants(rendered)
    assert_sizes(rendered, 640, 480)
    assert_formats(rendered)


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [quadrants((300, 200)), Image.new("RGB", (300, 200), GREEN)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert_shows_quadrants(render(write(tmp_path, "anim.gif", buffer.getvalue()), GIF))


def test_transparency_is_flattened_onto_white(tmp_path):
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    image.paste((220, 20, 20, 255), (200, 150, 400, 300))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    rendered = render(write(tmp_path, "alpha.png", buffer.getvalue()), PNG)
    assert_shows_quadrants(rendered, top_left=(255, 255, 255), rest=RED)


# --- HEIC ---------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not CORPUS_HEIF, reason="../shared/corpus/exif-samples/heic is not present")
@pytest.mark.parametrize("path", CORPUS_HEIF, ids=lambda path: path.name)
def test_phone_heic_files_get_thumbnails(sandbox, path):
    media = sniff(path.read_bytes()[:4096])
    assert media in (HEIC, AVIF) or media.mime == "image/heif"
    rendered = both(sandbox.render, str(path), media)
    expected = pillow_heif.open_heif(str(path)).size  # after the irot/imir transforms
    assert_sizes(rendered, *expected)
    assert_formats(rendered)
    assert decoded(rendered.thumbnail).avg() > 5  # a picture, not a black frame


# --- video --------------------------------------------------------------------------------------------------


def test_video_poster_is_taken_about_one_second_in(tmp_path):
    rendered = render(make_video(tmp_path, "two-seconds.mp4", frames=60), MP4)
    assert (rendered.width, rendered.height) == (320, 240)
    assert is_near(pixel(decoded(rendered.thumbnail), 100, 100), GREEN)
    assert_sizes(rendered, 320, 240)
    assert_formats(rendered)


def test_short_video_gives_its_first_frame(tmp_path):
    rendered = render(make_video(tmp_path, "short.mp4", frames=10), MP4)
    assert_shows_quadrants(rendered)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_video_poster_is_upright(tmp_path, rotation):
    path = make_video(tmp_path, f"rotated-{rotation}.mp4", frames=10, rotation=rotation)
    with av.open(path) as container:
        assert next(container.decode(video=0)).rotation % 360 == rotation  # the fixture carries the matrix
    rendered = render(path, MP4)
    assert (rendered.width, rendered.height) == (320, 240)
    assert_shows_quadrants(rendered)


def test_video_through_the_sandbox(sandbox, tmp_path):
    rendered = both(sandbox.render, make_video(tmp_path, "sandboxed.mp4", frames=10, rotation=90), MP4)
    assert_shows_quadrants(rendered)


# --- bad input: a reason, never a crash or a hang -----------------------------------------------------------


def bad_inputs(tmp_path: Path) -> dict[str, tuple[str, MediaType, str]]:
    """name: (path, sniffed type, a word the reason must contain)."""
    good = jpeg_bytes(quadrants((2000, 1500)))
    heic_without_image = ftyp(b"heic", b"mif1", b"heic")
    cases = {
        "jpeg-cut-in-header": (good[:300], ""),
        "random-bytes-as-jpeg": (b"\xff\xd8\xff" + os.urandom(20000), ""),
        "random-bytes-as-png": (b"\x89PNG\r\n\x1a\n" + os.urandom(20000), ""),
        "png-declaring-100000x100000": (png_declaring(100000, 100000), "too large"),
        "jpeg-declaring-60000x60000": (jpeg_declaring(60000, 60000), "too large"),
        "heic-without-an-image": (heic_without_image, "HEIF"),
        "mp4-without-streams": (mp4_without_streams(datetime.datetime(2020, 1, 1)), "no video stream"),
        "garbage-matroska": (matroska(b"matroska"), "video"),
        "dng": (tiff_raw(b"DNG Adobe"), "unsupported for previews"),
        "cr3": (ftyp(b"crx ", b"crx ", b"isom"), "unsupported for previews"),
    }
    paths = {}
    for name, (data, reason) in cases.items():
        media = sniff(data[:4096])
        assert media is not None, name
        paths[name] = (write(tmp_path, name, data), media, reason)
    paths["audio-only-mp4"] = (audio_only_mp4(tmp_path), MP4, "no video stream")
    return paths


def test_png_bomb_fixture_is_a_valid_header():
    data = png_declaring(100000, 100000)
    header = pyvips.Image.new_from_buffer(data, "", access="sequential")
    assert (header.width, header.height) == (100000, 100000)
    assert 100000 * 100000 > MAX_PIXELS


@pytest.mark.parametrize("where", ["in-process", "sandbox"])
def test_bad_input_gives_a_reason(tmp_path, sandbox, where):
    renderer = derivatives.render if where == "in-process" else sandbox.render
    good = write(tmp_path, "good.jpg", jpeg_bytes(quadrants()))
    for name, (path, media, word) in bad_inputs(tmp_path).items():
        for derivative in (THUMBNAIL, PREVIEW):
            with pytest.raises(RenderError) as caught:
                renderer(path, media, derivative)
            reason = str(caught.value)
            assert reason and len(reason) < 400, (name, derivative, reason)
            assert word.lower() in reason.lower(), (name, derivative, reason)
            assert str(tmp_path) not in reason, (name, derivative, reason)  # no server paths in what a user sees
        assert_shows_quadrants(both(renderer, good, JPEG))  # and the next file still renders


@needs_corpus
def test_broken_corpus_files_never_crash_the_sandbox(sandbox):
    """Most of these only have broken EXIF blocks (they break EXIF parsers, not decoders) and render; the
    rest must fail with a reason. Either way the sandbox lives on."""
    assert CORPUS_BROKEN
    good = str(CORPUS_ORIENTATION / "landscape_1.jpg")
    damaged = []
    for path in CORPUS_BROKEN:
        media = sniff(path.read_bytes()[:4096])
        assert media == JPEG, path
        try:
            rendered = both(sandbox.render, str(path), media)
        except RenderError as error:
            assert str(error), path
        else:
            assert_sizes(rendered, rendered.width, rendered.height)
            assert_formats(rendered)
            damaged += [path.name] if rendered.damage else []
        assert sandbox.render(good, JPEG, THUMBNAIL).width == 600
    assert "corrupted.jpg" in damaged  # Chromium shows it whole, and libvips refuses it: decoded by Pillow


@pytest.mark.parametrize("where", ["in-process", "sandbox"])
def test_a_truncated_jpeg_is_shown_as_far_as_it_decodes(tmp_path, sandbox, where):
    """As browsers show a photo whose upload was cut short: the rows that arrived, grey below, marked as
    damaged with the decoder's words."""
    renderer = derivatives.render if where == "in-process" else sandbox.render
    whole = jpeg_bytes(quadrants((2000, 1500)))
    rendered = both(renderer, write(tmp_path, "cut.jpg", whole[: len(whole) * 6 // 10]), JPEG)
    assert "truncated" in rendered.damage and str(tmp_path) not in rendered.damage
    assert (rendered.width, rendered.height) == (2000, 1500)
    assert_sizes(rendered, 2000, 1500)
    assert_formats(rendered)
    preview = decoded(rendered.preview)
    assert is_near(pixel(preview, 3, 3), RED)  # the first rows arrived
    assert is_near(pixel(preview, preview.width - 4, preview.height - 4), (128, 128, 128), tolerance=10)


def test_a_truncated_photo_is_still_turned_upright(tmp_path):
    seen = quadrants((1200, 1600))
    whole = jpeg_bytes(oriented(seen, 6), exif=exif_with_orientation(6))
    rendered = render(write(tmp_path, "cut.jpg", whole[: len(whole) * 7 // 10]), JPEG)
    assert rendered.damage
    assert (rendered.width, rendered.height) == (1200, 1600)
    preview = decoded(rendered.preview)
    assert preview.height > preview.width


def test_a_file_of_damage_throughout_still_fails_with_its_reason(tmp_path):
    """Pillow is asked only after libvips refused, and its failure keeps libvips' reason."""
    whole = jpeg_bytes(quadrants())
    start_of_scan = whole.find(b"\xff\xda")
    garbled = whole[:start_of_scan] + b"\xff\xd9"  # the header, then the end: no scan at all
    with pytest.raises(RenderError, match="image"):
        render(write(tmp_path, "empty-scan.jpg", garbled), JPEG)


def test_missing_file(tmp_path, sandbox):
    for renderer in (derivatives.render, sandbox.render):
        for derivative in (THUMBNAIL, PREVIEW):
            with pytest.raises(RenderError, match="not"):
                renderer(str(tmp_path / "gone.jpg"), JPEG, derivative)


# --- the sandbox itself -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action, words", [
    ("exit", "exited"),
    ("abort", "SIGABRT"),
    ("allocate", "out of memory"),
])
def test_a_crashing_child_is_replaced(tmp_path, action, words):
    good = write(tmp_path, "good.jpg", jpeg_bytes(quadrants()))
    with RenderSandbox(timeout_seconds=60, memory_bytes=1 << 30) as sandbox:
        assert_shows_quadrants(both(sandbox.render, good, JPEG))
        first = sandbox.pid
        with pytest.raises(RenderError, match=words):
            sandbox._debug(action)
        assert sandbox.pid is None  # the dead child is gone...
        assert_shows_quadrants(both(sandbox.render, good, JPEG))  # ...and a new one renders
        assert sandbox.pid not in (None, first)


def test_a_hanging_child_is_killed_at_the_timeout(tmp_path):
    good = write(tmp_path, "good.jpg", jpeg_bytes(quadrants()))
    with RenderSandbox(timeout_seconds=2) as sandbox:
        assert_shows_quadrants(both(sandbox.render, good, JPEG))
        first = sandbox.pid
        with pytest.raises(RenderError, match="timed out after 2 s"):
            sandbox._debug("sleep", seconds=600)
        assert_shows_quadrants(both(sandbox.render, good, JPEG))
        assert sandbox.pid not in (None, first)


def test_a_child_killed_while_idle_is_replaced(tmp_path):
    good = write(tmp_path, "good.jpg", jpeg_bytes(quadrants()))
    with RenderSandbox() as sandbox:
        sandbox.render(good, JPEG, THUMBNAIL)
        first = sandbox.pid
        os.kill(first, 9)
        wait_until_dead(first)
        assert_shows_quadrants(both(sandbox.render, good, JPEG))
        assert sandbox.pid != first


def test_the_child_runs_at_the_niceness_asked(tmp_path):
    good = write(tmp_path, "good.jpg", jpeg_bytes(quadrants()))
    with RenderSandbox(niceness=7) as sandbox:
        sandbox.render(good, JPEG, THUMBNAIL)
        assert os.getpriority(os.PRIO_PROCESS, sandbox.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 7


def test_one_sandbox_shared_by_threads(tmp_path, sandbox):
    paths = [write(tmp_path, f"t{index}.jpg", jpeg_bytes(quadrants((400 + index * 40, 300)))) for index in range(6)]
    results: dict[int, Rendered | BaseException] = {}

    def work(index):
        try:
            results[index] = sandbox.render(paths[index], JPEG, (THUMBNAIL, PREVIEW)[index % 2])
        except BaseException as error:  # noqa: BLE001 - reported below
            results[index] = error

    threads = [threading.Thread(target=work, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for index in range(6):
        assert isinstance(results.get(index), Rendered), results.get(index)
        assert results[index].width == 400 + index * 40  # each caller gets its own file's result...
        kind = decoded(results[index].image).get("vips-loader")
        assert kind.startswith(("webpload", "jpegload")[index % 2])  # ...and the derivative it asked for


def test_closed_sandbox_refuses(tmp_path):
    sandbox = RenderSandbox()
    sandbox.close()
    with pytest.raises(RenderError, match="closed"):
        sandbox.render(write(tmp_path, "good.jpg", jpeg_bytes(quadrants())), JPEG, THUMBNAIL)


def test_configure_keeps_rendering(tmp_path):
    derivatives.configure(threads=None)
    assert_shows_quadrants(render(write(tmp_path, "good.jpg", jpeg_bytes(quadrants())), JPEG))


def test_process_returns_metadata_and_the_thumbnail_from_the_child(tmp_path, sandbox):
    """The media job's one visit to the child: metadata and the thumbnail only (the preview comes later)."""
    import datetime as _dt

    from phonecloud.media.sniff import JPEG

    path = write(tmp_path, "IMG_20200102_030405.jpg", jpeg_bytes(quadrants()))
    meta, rendered, error = sandbox.process(path, JPEG, "IMG_20200102_030405.jpg",
                                            _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC))
    assert error is None and rendered is not None
    assert rendered.image == sandbox.render(path, JPEG, THUMBNAIL).image  # the thumbnail, the same bytes
    assert (rendered.width, rendered.height) == (400, 300)
    assert (meta.taken_at, meta.date_source) == (_dt.datetime(2020, 1, 2, 3, 4, 5), "filename")
    broken = write(tmp_path, "broken.jpg", b"\xff\xd8\xff\xe0" + bytes(100))
    meta, rendered, error = sandbox.process(broken, JPEG, "broken.jpg", _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC))
    assert rendered is None and error and meta.date_source == "file_mtime"


def test_metadata_crosses_the_pipe_as_json_checked_field_by_field():
    """The parent rebuilds the child's metadata from plain JSON (never unpickled), each field checked against
    the type Metadata declares: a child taken over by a crafted file cannot slip in another shape."""
    import datetime as _dt
    import json

    from phonecloud.media.facts import Metadata

    meta = Metadata(taken_at=_dt.datetime(2020, 1, 2, 3, 4, 5, 600), taken_at_offset_minutes=60, date_source="exif",
                    latitude=48.85, altitude=35.0, make="Apple", width=4032, motion_photo=True,
                    motion_video_offset=12, problems=("a note",))
    values = json.loads(json.dumps(meta.to_json()))
    assert Metadata.from_json(values) == meta
    assert Metadata.from_json({**values, "latitude": 48}).latitude == 48.0  # JSON has one kind of number
    for name, value in [("width", True), ("width", 1.5), ("latitude", "48.85"), ("problems", [1]),
                        ("problems", "a note"), ("taken_at", "yesterday"), ("date_source", None), ("motion_photo", 1)]:
        with pytest.raises(ValueError, match=name):
            Metadata.from_json({**values, name: value})
    for shape in ({**values, "extra": 1}, {k: v for k, v in values.items() if k != "make"}, [values], None):
        with pytest.raises(ValueError):
            Metadata.from_json(shape)
