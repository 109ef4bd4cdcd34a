"""Pages that start work: importing files through the browser, and running a shipped study.

Imports go through `jiareg.services.imports.import_path` (all-or-nothing; the problems are shown
in a table). A study runs `jiareg.study.run.run_study` then `jiareg.report.render.write_report`
in a background thread; its page shows the steps as they happen and then the report. Runs
are kept in the server's runs folder (`jiareg.web.studyruns`) and survive a restart.
Studies read every site, so only admins and researchers may run them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Final

from fastapi import Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)

from jiareg.errors import InputError, JiaregError
from jiareg.formats.sources import Format
from jiareg.formats.template.dictionary import TABLES
from jiareg.services.imports import CellOptions, ImportSummary, import_path
from jiareg.web import routing
from jiareg.web.access import Viewer
from jiareg.web.deps import page_viewer, state
from jiareg.web.problems import problem_rows
from jiareg.web.routes.pages import render
from jiareg.web.security import CLIENT_ADDRESS
from jiareg.web.storeops import WRITERS
from jiareg.web.studyruns import StudyJob

__all__ = ["router", "shipped_protocols"]

router = routing.router(include_in_schema=False)
PageViewer = Annotated[Viewer, Depends(page_viewer)]
_TABLE_FILES: Final = frozenset(f"{t.name}.csv" for t in TABLES)
_MAX_UPLOAD_BYTES: Final = 50 * 1024 * 1024
_MAX_NAME_BYTES: Final = 255
"""The longest file name a file system stores (the upload is written under its name)."""
_ONE_FILE: Final[dict[str, tuple[str, ...]]] = {"redcap": (".csv",), "fhir": (".json", ".ndjson")}
_MAPPED_SOURCE: Final = (".csv", ".xlsx", ".xml")
"""Formats read from one file, and that file's suffix."""
_BESIDE: Final = {"a mapping file": (".yaml", ".yml"), "a REDCap data dictionary": (".csv",)}
"""The files uploaded beside the data, and their suffixes."""
_REPORT_CSP: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "frame-ancestors 'self'"
)
STUDY_STEPS: Final = 6  # progress messages of run_study, plus writing the report


def shipped_protocols() -> dict[str, Path]:
    """The protocols shipped with jiareg, by file name."""
    folder = files("jiareg").joinpath("protocols")
    return {p.name: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".yaml")}


def _import_allowed(who: Viewer) -> None:
    if not who.may_import:
        raise HTTPException(status_code=403, detail=f"the {who.role} role may not import")


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, who: PageViewer) -> Response:
    _import_allowed(who)
    return render(request, "import.html", who, nav="import", tables=sorted(_TABLE_FILES))


@dataclass(frozen=True, slots=True)
class _ImportOptions:
    """What the import form asks besides the files (the CLI's options of the same names)."""

    fmt: Format
    site: str | None
    skip_unmapped: bool
    options: CellOptions
    mapping: Path | None
    dictionary: Path | None


def _locked_import(
    source: Path, db_url: str, who: Viewer, reason: str, how: _ImportOptions
) -> ImportSummary:
    """`import_path` as one of the bounded writers (blocks: call it off the event loop)."""
    with WRITERS:
        return import_path(
            source,
            db_url,
            user=who.user,
            reason=reason,
            format=None if how.mapping else how.fmt,
            site=how.site,
            skip_unmapped=how.skip_unmapped,
            options=how.options,
            mapping=how.mapping,
            dictionary=how.dictionary,
            uploaded=True,
        )


def _check_length(name: str) -> None:
    if len(name.encode("utf-8")) > _MAX_NAME_BYTES:
        raise InputError(
            f"{name[:40]}...: file name longer than {_MAX_NAME_BYTES} bytes; "
            "rename the file and upload it again"
        )


def _check_name(name: str, fmt: Format, count: int, mapped: bool) -> None:
    """The uploaded file's name fits the chosen format (InputError otherwise)."""
    _check_length(name)
    if mapped:
        if count != 1 or not name.lower().endswith(_MAPPED_SOURCE):
            raise InputError(
                f"{name or 'a file'}: a mapped import is one .csv, .xlsx or .xml file "
                "(a flat CSV, a workbook, a REDCap export or a REDCap ODM export)"
            )
        return
    suffixes = _ONE_FILE.get(fmt)
    if suffixes is not None:
        ndjson = fmt == "fhir" and name.lower().endswith(".ndjson")
        if not name.lower().endswith(suffixes) or (count != 1 and not ndjson):
            raise InputError(
                f"{name or 'a file'}: a {fmt} import is one {' or '.join(suffixes)} file"
                + (" (or several .ndjson files of a bulk export)" if fmt == "fhir" else "")
            )
    elif name not in _TABLE_FILES and not name.endswith(".xlsx"):
        raise InputError(
            f"{name or 'a file'}: expected one of {', '.join(sorted(_TABLE_FILES))} "
            "or one .xlsx workbook"
        )


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    who: PageViewer,
    files_: Annotated[list[UploadFile], File(alias="files")],
    fmt: Annotated[Format, Form(alias="format")] = "template",
    mapping_file: Annotated[UploadFile | None, File(alias="mapping")] = None,
    dictionary_file: Annotated[UploadFile | None, File(alias="dictionary")] = None,
    site: Annotated[str, Form(max_length=64)] = "",
    skip_unmapped: Annotated[bool, Form()] = False,
    date_format: Annotated[str, Form(max_length=40)] = "",
    decimal_comma: Annotated[bool, Form()] = False,
) -> Response:
    _import_allowed(who)
    web = state(request)
    folder = Path(tempfile.mkdtemp(prefix="jiareg-import-", dir=web.work_dir))
    data_dir = folder / "data"
    data_dir.mkdir()
    mapped = mapping_file is not None and bool(mapping_file.filename)
    try:
        names = []
        for upload in files_:
            name = Path(upload.filename or "").name
            _check_name(name, fmt, len(files_), mapped)
            (data_dir / name).write_bytes(await _read(upload, name))
            names.append(name)
        mapping = await _save_beside(mapping_file, folder / "mapping", "a mapping file")
        dictionary = await _save_beside(
            dictionary_file, folder / "dictionary", "a REDCap data dictionary"
        )
        single = len(names) == 1 and (mapped or fmt != "template" or names[0].endswith(".xlsx"))
        source = data_dir / names[0] if single else data_dir
        how = _ImportOptions(
            fmt,
            site.strip() or None,
            skip_unmapped,
            CellOptions(date_format.strip() or None, decimal_comma),
            mapping,
            dictionary,
        )
        label = "mapped" if mapped else fmt
        reason = f"web import by {who.username} ({label}): {', '.join(sorted(names))}"
        summary = await run_in_threadpool(_locked_import, source, web.db_url, who, reason, how)
    except JiaregError as exc:
        rows = problem_rows(exc)
        return render(
            request,
            "import.html",
            who,
            status=422 if rows or isinstance(exc, InputError) else 403,
            nav="import",
            tables=sorted(_TABLE_FILES),
            problems=rows,
            error=str(exc).split("\n")[0],
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return render(
        request, "import.html", who, nav="import", tables=sorted(_TABLE_FILES), summary=summary
    )


async def _save_beside(upload: UploadFile | None, folder: Path, what: str) -> Path | None:
    """An optional one-file upload beside the data (the mapping file, the source project's
    data dictionary) saved in its own `folder`, or None when none was chosen."""
    if upload is None or not upload.filename:
        return None
    name = Path(upload.filename).name
    _check_length(name)
    if not name.lower().endswith(_BESIDE[what]):
        raise InputError(f"{name}: {what} is a {_BESIDE[what][0]} file")
    folder.mkdir()
    (folder / name).write_bytes(await _read(upload, name))
    return folder / name


async def _read(upload: UploadFile, name: str) -> bytes:
    data = await upload.read(_MAX_UPLOAD_BYTES + 1)
    if len(data) > _MAX_UPLOAD_BYTES:
        raise InputError(f"{name}: larger than {_MAX_UPLOAD_BYTES // 2**20} MiB")
    return data


def _study_allowed(who: Viewer) -> None:
    if who.role not in ("admin", "researcher"):
        raise HTTPException(
            status_code=403, detail="studies read every site: admins and researchers"
        )


@router.get("/study", response_class=HTMLResponse)
def study_page(request: Request, who: PageViewer) -> Response:
    _study_allowed(who)
    return render(
        request,
        "study.html",
        who,
        nav="study",
        protocols=sorted(shipped_protocols()),
        jobs=state(request).runs.newest_first(),
    )


def _run(job: StudyJob, protocol: Path, db_url: str, by: str, address: str) -> None:
    from jiareg.services.study import run_and_report

    error: str | None = "the study stopped unexpectedly"
    try:
        # identified for admins; researchers get the de-identified view (`study_file`)
        run_and_report(
            protocol,
            db_url,
            job.out_dir,
            progress=job.step,
            identified=True,
            by=by,
            address=address,
        )
        error = None
    except JiaregError as exc:
        error = str(exc)
    finally:
        job.finish(error)


@router.post("/study")
def study_start(
    request: Request, who: PageViewer, protocol: Annotated[str, Form(max_length=200)]
) -> Response:
    _study_allowed(who)
    shipped = shipped_protocols()
    if protocol not in shipped:
        raise HTTPException(status_code=422, detail=f"unknown protocol {protocol!r}")
    job_id, job = state(request).runs.start(protocol)
    threading.Thread(
        target=_run,
        args=(job, shipped[protocol], state(request).db_url, who.username, CLIENT_ADDRESS.get()),
        daemon=True,
    ).start()
    return RedirectResponse(f"/study/{job_id}", status_code=303)


def _job(request: Request, job_id: str) -> StudyJob:
    job = state(request).runs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="no such study run")
    return job


@router.get("/study/{job_id}", response_class=HTMLResponse)
def study_job(request: Request, who: PageViewer, job_id: str) -> Response:
    _study_allowed(who)
    job = _job(request, job_id)
    return render(
        request, "study_job.html", who, nav="study", job=job, job_id=job_id, total=STUDY_STEPS
    )


@router.get("/study/{job_id}/{name}")
def study_file(request: Request, who: PageViewer, job_id: str, name: str) -> Response:
    _study_allowed(who)
    job = _job(request, job_id)
    if name not in ("report.html", "report.pdf", "results.json") or not job.done:
        raise HTTPException(status_code=404, detail="no such file")
    path = job.out_dir / name
    if not path.is_file():
        raise HTTPException(status_code=404, detail="no such file")
    if name == "results.json":  # responder ids etc.: pseudonyms for researchers when set
        shown = state(request).registry.public_ids_in(who, json.loads(path.read_bytes()))
        if who.deidentified:  # in pseudonym order, small counts suppressed (issue 12)
            from jiareg.study.deidentify import researcher_view  # not at server start: seconds

            shown = researcher_view(shown)
        return JSONResponse(
            shown, headers={"Content-Disposition": 'attachment; filename="results.json"'}
        )
    headers = {}
    if name == "report.html":  # shown in an iframe of the study page
        headers = {"Content-Security-Policy": _REPORT_CSP, "X-Frame-Options": "SAMEORIGIN"}
    return FileResponse(path, headers=headers, filename=None if name.endswith("html") else name)
