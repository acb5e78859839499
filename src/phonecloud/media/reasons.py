"""What a render's failure or damage means, in words for the photo's owner. The decoder's own words (kept in
AssetMedia.error and .damage) are for whoever digs further: pages show them behind a "details" toggle."""

from __future__ import annotations

_KEPT = "The original is kept exactly as it was uploaded, and can be downloaded."

# A failure's reason (media/derivatives.py, media/sandbox.py) by how it starts -> what it means.
_FAILURES = (
    (("truncated or damaged image", "not a readable image", "cannot decode image", "image declares no pixels"),
     "The file is damaged, or is not really the kind of picture its name says, and no part of it could be read."),
    (("cannot decode heif image",),
     "This HEIC/HEIF picture could not be decoded: it is damaged, or uses a feature this server's decoder lacks."),
    (("cannot decode video", "video has no decodable frame", "no video stream"),
     "No frame of this video could be decoded: it is damaged, or uses a codec this server lacks."),
    (("unsupported for previews",),
     "phonecloud cannot make previews of this kind of file."),
    (("image too large",),
     "The picture is larger than phonecloud makes previews of."),
    (("rendering timed out", "rendering used more than"),
     "Making its preview took far longer than a picture of its size should, so it was stopped."),
    (("file not found", "cannot read file"),
     "The server could not read the stored file; its administrator can check the storage with `phonecloud "
     "admin scrub`."),
)
_OTHER_FAILURE = "No preview could be made of this file."
DAMAGE = (f"Part of this file is damaged or missing: what could be read is shown, the rest is grey, as other "
          f"apps show it. {_KEPT}")


def failure(error: str | None) -> str:
    """Why a file has no preview, for its owner."""
    lowered = (error or "").lower()
    meaning = next((text for starts, text in _FAILURES if lowered.startswith(starts)), _OTHER_FAILURE)
    return f"{meaning} {_KEPT}"
