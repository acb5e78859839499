"""`phonecloud export --out DIR`: ask for an export (or resume the one DIR holds), download every part with
resumable ranged requests, and verify each part against the manifest: the zip's own CRC-32 of every file,
and the SHA-256, size and part the manifest lists. Pure Python."""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from phonecloud.client.api import Api
from phonecloud.client.download import CHUNK, PARTIAL_SUFFIX, fetch, fsync_path, partial_path
from phonecloud.client.errors import ServerError
from phonecloud.client.progress import TransferReporter
from phonecloud.portability.manifest import PATH as MANIFEST_PATH
from phonecloud.portability.manifest import BadManifest, ManifestFile, parse_manifest

STATE_FILE = ".phonecloud-export.json"
# Asking how the preparation goes: soon at first (a small library is ready in a blink), then every 2 s.
POLL_SECONDS_FIRST, POLL_SECONDS_MOST = 0.05, 2.0


class ExportFailed(Exception):
    pass


@dataclass
class ExportSummary:
    export_id: str = ""
    parts: int = 0
    downloaded_bytes: int = 0
    skipped_parts: int = 0  # already complete in DIR
    verified_parts: int = 0
    failed: int = 0  # parts that did not verify: removed, downloaded again by the next run
    failures: list[dict] = field(default_factory=list)
    verified_at: str | None = None  # when the server recorded that every part was verified
    outdated: bool = False  # the export resumed is older than the library, which changed since

    def as_dict(self) -> dict:
        return asdict(self)


def _load_state(out: Path) -> dict:
    try:
        state = json.loads((out / STATE_FILE).read_text())
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(out: Path, state: dict) -> None:
    temporary = out / (STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(state))
    os.replace(temporary, out / STATE_FILE)


def _current_export(api: Api, state: dict, new: bool) -> dict:
    """The export DIR was downloading (whatever address reached its server), unless asked for a new one or it
    is gone or failed."""
    if not new and isinstance(state.get("export_id"), str):
        export = api.export(state["export_id"])
        if export is not None and export["state"] != "failed":
            return export
    return api.create_export()


def _outdated(state: dict, export: dict, usage: dict | None) -> bool:
    """Whether the library changed since the export was made: its items or bytes of any kind (photos and
    videos, messages, contacts) differ from when this folder's export was asked for; for an export asked
    for by an older client, its photos and videos differ in number from the library's."""
    if not isinstance(usage, dict):  # a server that does not say
        return False
    if isinstance(state.get("usage"), dict):
        return state["usage"] != usage
    items = (usage.get("gallery") or {}).get("items")
    return export["state"] == "ready" and items is not None and export["asset_count"] != items


def _outdated_warning(export: dict, out: Path) -> str:
    made = str(export.get("created_at", ""))[:16].replace("T", " ")
    return (f"warning: the export being resumed in {out} (made {made} UTC) is older than your library, which has "
            f"changed since; it is completed and checked as it is. For an export of the library as it is now, add "
            f"--new: phonecloud export --out {out} --new")


def _wait_ready(api: Api, export: dict, reporter: TransferReporter) -> dict:
    said, poll = False, POLL_SECONDS_FIRST
    while export["state"] == "preparing":
        if not said:
            reporter.say("the server is preparing the export (hashing originals, then laying out the parts) ...")
            said = True
        time.sleep(poll)
        poll = min(poll * 2, POLL_SECONDS_MOST)
        export = api.export(export["id"])
        if export is None:
            raise ExportFailed("the export was deleted on the server while it was being prepared")
    if export["state"] != "ready":
        raise ExportFailed(f"the server could not prepare the export: {export.get('error')}")
    return export


def verify_part(path: Path, number: int, files: dict[str, ManifestFile], manifest_sha256: str) -> list[str]:
    """What is wrong with a downloaded part (nothing: an empty list)."""
    problems = []
    try:
        with zipfile.ZipFile(path) as archive:
            listed = {name for name, file in files.items() if file.part == number}
            names = set(archive.namelist())
            problems += [f"{name} is missing" for name in sorted(listed - names)]
            for info in archive.infolist():
                digest = hashlib.sha256()
                with archive.open(info) as stream:  # zipfile checks the CRC-32 at the end
                    while chunk := stream.read(CHUNK):
                        digest.update(chunk)
                expected = files.get(info.filename)
                if info.filename == MANIFEST_PATH and expected is None:
                    if digest.hexdigest() != manifest_sha256:
                        problems.append("its manifest.json differs from the server's")
                elif expected is None or expected.part != number:
                    problems.append(f"{info.filename} is not listed in the manifest for this part")
                elif (info.file_size, digest.hexdigest()) != (expected.size, expected.sha256):
                    problems.append(f"{info.filename} differs from the manifest (size or SHA-256)")
    except (zipfile.BadZipFile, OSError) as error:
        problems.append(f"not a valid zip archive: {error}")
    return problems


def _stopped(part: dict, partial: Path, error: ServerError) -> str:
    """Why a part could not be downloaded whole; what arrived stays for the next run (never taken as whole)."""
    kept = partial.stat().st_size if partial.exists() else 0
    advice = "; `phonecloud export --new` asks for a new export" if error.status == 410 else ""
    return (f"part {part['number']} ({part['name']}) stopped at {kept} of {part['size']} bytes (kept in "
            f"{partial.name}): {error}{advice}")


def run_export(api: Api, out: Path, new: bool, reporter: TransferReporter, verbose: bool = False) -> ExportSummary:
    usage = api.me().get("usage")  # proves the server and key before anything else (and before OUT is made)
    out.mkdir(parents=True, exist_ok=True)
    state = _load_state(out)
    export = _current_export(api, state, new)
    resumed = state.get("export_id") == export["id"]
    if not resumed:  # the library's usage now: a later run tells from it whether the library changed since
        state = {"export_id": export["id"], "verified": [], "usage": usage}
        _save_state(out, state)
    export = _wait_ready(api, export, reporter)
    outdated = resumed and _outdated(state, export, usage)
    if outdated:
        reporter.say(_outdated_warning(export, out))
    elif resumed and "usage" not in state and isinstance(usage, dict):  # a folder of an older client's
        state["usage"] = usage
        _save_state(out, state)
    names = {part["name"] + PARTIAL_SUFFIX for part in export["parts"]}
    for stale in out.glob(f"phonecloud-export-*.zip{PARTIAL_SUFFIX}"):  # of an export no longer wanted
        if stale.name not in names:
            stale.unlink()
    summary = ExportSummary(export["id"], len(export["parts"]), outdated=outdated)
    manifest = api.manifest(export["id"])
    if hashlib.sha256(manifest).hexdigest() != export["manifest"]["sha256"]:
        raise ExportFailed("the manifest's SHA-256 differs from the one the export lists; try again")
    try:
        _header, files = parse_manifest(manifest)
    except BadManifest as error:
        raise ExportFailed(str(error)) from None
    todo = [part for part in export["parts"]
            if part["name"] not in state["verified"] or not (out / part["name"]).exists()]
    reporter.planned(len(todo), sum(part["size"] for part in todo))

    def advance(size: int) -> None:
        summary.downloaded_bytes += size
        reporter.advance(size)

    with ThreadPoolExecutor(1) as verifier:  # part N is checked while part N+1 downloads
        checks: list[tuple[dict, Future]] = []
        for part in todo:
            final = out / part["name"]
            if final.exists() and final.stat().st_size == part["size"]:
                summary.skipped_parts += 1
                reporter.advance(part["size"])
                if verbose:
                    reporter.say(f"already here: {part['name']}: downloaded by an earlier run, checked again")
            else:
                partial = partial_path(final)
                reporter.advance(partial.stat().st_size if partial.exists() else 0)  # kept from an earlier run
                try:
                    fetch(api, f"/export/{export['id']}/parts/{part['number']}", final, part["size"], advance)
                except ServerError as error:
                    raise ExportFailed(_stopped(part, partial, error)) from None
                fsync_path(out, directory=True)  # the part's new name survives a crash
            checks.append((part, verifier.submit(verify_part, final, part["number"], files,
                                                 export["manifest"]["sha256"])))
        for part, check in checks:
            problems = check.result()
            if problems:
                summary.failed += 1
                summary.failures += [{"path": part["name"], "reason": problem} for problem in problems]
                (out / part["name"]).unlink(missing_ok=True)  # downloaded again by the next run
                reporter.finished(f"failed: {part['name']}: {problems[0]}")
            else:
                summary.verified_parts += 1
                state["verified"].append(part["name"])
                _save_state(out, state)
                reporter.finished(f"verified: {part['name']}" if not reporter.rich else None)
    summary.verified_parts += len(export["parts"]) - len(todo)
    if verbose:
        for part in export["parts"]:
            if part not in todo:
                reporter.say(f"already here: {part['name']}: downloaded and verified by an earlier run")
    if summary.verified_parts == summary.parts and not summary.failed:
        # The server shows it (a retirement's notices say whether a complete export was taken, and when).
        summary.verified_at = api.export_verified(export["id"], export["manifest"]["sha256"])["verified_at"]
    return summary
