"""An Immich upload's multipart/form-data body, parsed as it arrives: the file part's bytes go straight into
staging (never to a temporary file, never whole in memory) while the small fields around it are collected.
Immich's 3.x client sends its fields before the file, its 2.x client after it: both work, because what the
fields say is only needed once the whole body is in."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from phonecloud.core.db import utcnow
from phonecloud.core.errors import BadRequest
from phonecloud.uploads.intake import IntakeMeta

FILE_FIELD = "assetData"
MAX_FIELDS = 50
MAX_FIELD_BYTES = 64 << 10
MAX_SIDE_FILE_BYTES = 16 << 20  # a sidecar (XMP) and any other part but the file: read and dropped
MAX_PART_HEADER_BYTES = 16 << 10


def _parsed(step, *args) -> None:
    """A step of the parser; a body it cannot parse is the client's error, said as such."""
    try:
        step(*args)
    except FormParserError as error:
        raise BadRequest(f"the multipart body is malformed: {error}") from None


def boundary_of(content_type: str) -> bytes:
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise BadRequest("the body must be multipart/form-data with a boundary, holding the file as "
                         f"'{FILE_FIELD}'", field="content-type")
    return boundary


class ImmichForm:
    """One upload's form: its fields (text, by name) and its file part's name, filled in as the body is read."""

    def __init__(self, content_type: str):
        self.fields: dict[str, str] = {}
        self.filename: str | None = None  # once the file part has begun
        self.file_done = False
        self._file_chunks: list[bytes] = []
        self._part: dict = {}
        self._side_bytes = 0
        self._header_name = b""
        self._header_value = b""
        self._content_type = content_type

    async def file_bytes(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The file part's bytes as the body brings them; the fields before and after it are collected."""
        parser = MultipartParser(boundary_of(self._content_type), {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value_part, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished, "on_part_data": self._data, "on_part_end": self._end,
        })
        async for chunk in body:
            _parsed(parser.write, chunk)
            chunks, self._file_chunks = self._file_chunks, []
            for piece in chunks:
                yield piece
        _parsed(parser.finalize)
        if self.filename is None or not self.file_done:
            raise BadRequest(f"the form has no whole file part '{FILE_FIELD}'", field=FILE_FIELD)

    def settled(self, meta: IntakeMeta) -> IntakeMeta:
        """What the whole form declares: the file's name, its time (fileModifiedAt, else fileCreatedAt) and
        size, and the SHA-1 the request declared."""
        size = self.fields.get("fileSize")
        if size is not None and not size.isdigit():
            raise BadRequest(f"fileSize must be a number of bytes, not {size[:40]!r}", field="fileSize")
        return IntakeMeta(self.filename or "upload", self._moment(), int(size) if size else meta.declared_size,
                          meta.declared_sha1)

    def _moment(self) -> dt.datetime:
        for name in ("fileModifiedAt", "fileCreatedAt"):
            if text := self.fields.get(name):
                try:
                    moment = dt.datetime.fromisoformat(text)
                except ValueError:
                    raise BadRequest(f"{name} must be an ISO 8601 time, not {text[:40]!r}", field=name) from None
                return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        return utcnow()

    # -- the parser's callbacks -------------------------------------------------------------------------------

    def _begin(self) -> None:
        self._part = {"headers": {}, "name": None, "filename": None, "value": []}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]
        self._bounded_header()

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        self._bounded_header()

    def _bounded_header(self) -> None:
        if len(self._header_name) + len(self._header_value) > MAX_PART_HEADER_BYTES:
            raise BadRequest(f"a header of the form exceeds {MAX_PART_HEADER_BYTES} bytes")

    def _header_end(self) -> None:
        self._part["headers"][self._header_name.lower()] = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part["headers"].get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part["name"] = name
        if name == FILE_FIELD:
            if self.filename is not None:
                raise BadRequest(f"the form has two '{FILE_FIELD}' parts", field=FILE_FIELD)
            self.filename = options.get(b"filename", b"upload").decode("utf-8", "replace") or "upload"
        elif len(self.fields) >= MAX_FIELDS:
            raise BadRequest(f"the form has more than {MAX_FIELDS} fields")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part["name"] == FILE_FIELD:
            self._file_chunks.append(data[start:end])
        elif b"filename" in self._part["headers"].get(b"content-disposition", b""):
            self._side_bytes += end - start  # a sidecar: not kept
            if self._side_bytes > MAX_SIDE_FILE_BYTES:
                raise BadRequest(f"the form's other files exceed {MAX_SIDE_FILE_BYTES} bytes")
        else:
            self._part["value"].append(data[start:end])
            if sum(map(len, self._part["value"])) > MAX_FIELD_BYTES:
                raise BadRequest(f"form field '{self._part['name']}' exceeds {MAX_FIELD_BYTES} bytes",
                                 field=self._part["name"])

    def _end(self) -> None:
        if self._part["name"] == FILE_FIELD:
            self.file_done = True
        elif self._part["value"] or b"filename" not in self._part["headers"].get(b"content-disposition", b""):
            try:
                self.fields[self._part["name"]] = b"".join(self._part["value"]).decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest(f"form field '{self._part['name']}' is not UTF-8", field=self._part["name"]) from None
