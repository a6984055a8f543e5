"""Task forms in the pages: choices resolved for the form, PDFs uploaded in place, submitted
values read, checked against their sources and the schema, and re-displayed when refused."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.datastructures import UploadFile

from engine.domain.errors import Conflict, FieldError, FormValidationError, InvalidInput
from engine.domain.model import Document
from engine.services.documents import add_case_document
from engine.services.form_sources import Choice, FormContext, check_choices, resolve_choices
from engine.services.forms import validate_form
from engine.services.queries import cases as case_queries
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess
from web.forms import FormField, document_inputs, errors_by_field, fields_of, read_values

__all__ = ["Submission", "choices_for", "close_uploads", "read_submission"]

MAX_FILES_PER_FIELD = 30


def choices_for(
    unit: UnitOfWork,
    access: TenantAccess,
    schema: Mapping[str, Any] | None,
    *,
    case_data: Mapping[str, Any],
    documents: Sequence[Document],
    values: Mapping[str, Any] | None,
    now: datetime,
) -> dict[str, list[Choice]]:
    ctx = FormContext(access.tenant.siren, now, case_data, values or {}, documents)
    return resolve_choices(unit, schema, ctx)


def form_fields(
    unit: UnitOfWork,
    access: TenantAccess,
    schema: Mapping[str, Any] | None,
    *,
    case_data: Mapping[str, Any],
    documents: Sequence[Document],
    values: Mapping[str, Any] | None,
    errors: Mapping[str, str] | None,
    now: datetime,
) -> list[FormField]:
    """The fields of a form on a case (a task's, a message's): values, errors, and the choices
    of sourced fields resolved against the case."""
    choices = choices_for(
        unit, access, schema, case_data=case_data, documents=documents, values=values, now=now
    )
    return fields_of(schema, values, errors, choices)


@dataclass
class Submission:
    """A submitted task form read back: the data, and what stops it from being recorded."""

    data: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    uploaded: list[Document] = field(default_factory=list)
    add_row: str | None = None
    """The repeatable group a row was asked for (the form is shown again, nothing recorded)."""


def _files(form: Any, name: str) -> list[UploadFile]:
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


def _upload(
    unit: UnitOfWork,
    access: TenantAccess,
    case_id: uuid.UUID,
    upload: UploadFile,
    *,
    max_bytes: int,
    now: datetime,
) -> Document:
    content = upload.file.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise InvalidInput(f"« {upload.filename} » dépasse la taille maximale autorisée.")
    return add_case_document(
        unit,
        tenant=access.tenant.siren,
        case_id=case_id,
        name=str(upload.filename),
        content=content,
        actor=access.actor,
        now=now,
        max_bytes=max_bytes,
    )


def _upload_all(
    unit: UnitOfWork,
    access: TenantAccess,
    case_id: uuid.UUID,
    schema: Mapping[str, Any] | None,
    form: Any,
    *,
    max_bytes: int,
    now: datetime,
) -> tuple[dict[str, list[str]], dict[str, str], list[Document]]:
    """The files sent with the document fields, added to the case: the new documents' ids by
    field, the refusals by field, and the documents added."""
    added: dict[str, list[str]] = {}
    refused: dict[str, str] = {}
    uploaded: list[Document] = []
    for name, several in document_inputs(schema):
        files = _files(form, f"{name}.{'fichiers' if several else 'fichier'}")
        if len(files) > MAX_FILES_PER_FIELD:
            refused[name] = f"au plus {MAX_FILES_PER_FIELD} fichiers à la fois"
            continue
        for upload in files:
            try:
                document = _upload(unit, access, case_id, upload, max_bytes=max_bytes, now=now)
            except (InvalidInput, Conflict) as exc:
                refused[name] = f"« {upload.filename} » refusé : {exc}"
                continue
            uploaded.append(document)
            added.setdefault(name, []).append(str(document.id))
    return added, refused, uploaded


def read_submission(
    unit: UnitOfWork,
    access: TenantAccess,
    case_id: uuid.UUID,
    schema: Mapping[str, Any] | None,
    form: Any,
    *,
    max_bytes: int,
    now: datetime,
) -> Submission:
    """Uploads first (each PDF joins the case and is picked in its field), then the values.

    Every problem is listed at once: unreadable values, choices not offered, bad uploads and
    the schema's own messages; the caller records nothing unless the list is empty."""
    try:
        added, upload_errors, uploaded = _upload_all(
            unit, access, case_id, schema, form, max_bytes=max_bytes, now=now
        )
        case = case_queries.find_case(unit, access.tenant.siren, case_id)
        documents = case_queries.case_documents(unit, access.tenant.siren, case_id)
        references = {str(d.id): d.reference() for d in documents}
        reading = read_values(schema, form, documents=references, added=added)
        ctx = FormContext(access.tenant.siren, now, case.data, reading.data, documents)
        choices = resolve_choices(unit, schema, ctx)
        problems: list[FieldError] = check_choices(schema, reading.data, choices, ctx)
        try:
            validate_form(dict(schema) if schema is not None else None, reading.data)
        except FormValidationError as exc:
            problems += exc.errors
        errors, general = errors_by_field(schema, problems)
        errors.update(reading.errors)
        errors.update(upload_errors)
        add_row = form.get("_ajouter")
        return Submission(
            data=reading.data,
            errors=errors,
            general=general,
            uploaded=uploaded,
            add_row=add_row if isinstance(add_row, str) and add_row else None,
        )
    finally:
        close_uploads(form)


def close_uploads(form: Any) -> None:
    """Close the spooled copies of every file sent, read or not."""
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            value.file.close()
