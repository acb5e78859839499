"""Recognition by content: every accepted format, and look-alikes refused."""

import pytest

from media_fixtures import ACCEPTED, REFUSED
from phonecloud.media.sniff import sniff, sniff_extension


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted(name):
    make, kind, mime = ACCEPTED[name]
    media = sniff(make()[:4096])
    assert media is not None and (media.kind, media.mime) == (kind, mime)
    assert sniff_extension(mime) == media.extension


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused(name):
    assert sniff(REFUSED[name]()[:4096]) is None


@pytest.mark.parametrize("head", [b"", b"\xff", b"\xff\xd8", b"RIFF", b"\x00\x00\x00\x08ftyp", b"II*"])
def test_short_heads_do_not_crash(head):
    assert sniff(head) is None
