"""The case page's message actions: a form generated from the JSON Schema of a message the case
waits for (« Enregistrer une offre reçue »), delivered through the API's service."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.domain.errors import Conflict, FormValidationError, InvalidInput
from engine.services import case_messages
from engine.services.case_messages import SendableMessage
from engine.services.unit_of_work import UnitOfWork
from web.auth import TenantAccess
from web.deps import PlatformDep, UowDep
from web.forms import errors_by_field
from web.pages.cases import Reader, schema_form_page
from web.pages.common import FormDep, flash, see_other
from web.security import check_csrf
from web.task_forms import read_submission

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


def _message_page(
    request: Request,
    access: TenantAccess,
    unit: UnitOfWork,
    case_id: uuid.UUID,
    sendable: SendableMessage,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status: int = 200,
) -> Response:
    return schema_form_page(
        request,
        access,
        unit,
        case_id,
        sendable.schema,
        "case_message.html",
        lambda _case, _documents: {"message": sendable},
        values=values,
        errors=errors,
        general=general,
        status=status,
    )


@router.get("/c/{tenant}/dossiers/{case_id}/messages/{message}")
def message_form(
    request: Request, case_id: uuid.UUID, message: str, access: Reader, unit: UowDep
) -> Response:
    sendable = case_messages.sendable_message(
        unit, tenant=access.tenant.siren, case_id=case_id, message=message, actor=access.actor
    )
    return _message_page(request, access, unit, case_id, sendable)


@router.post("/c/{tenant}/dossiers/{case_id}/messages/{message}")
def deliver_message(
    request: Request,
    case_id: uuid.UUID,
    message: str,
    access: Reader,
    unit: UowDep,
    p: PlatformDep,
    form: FormDep,
) -> Response:
    """Uploads, values and the message's schema are checked first; nothing is recorded (not
    even an uploaded PDF) unless the case takes the message."""
    sendable = case_messages.sendable_message(
        unit, tenant=access.tenant.siren, case_id=case_id, message=message, actor=access.actor
    )
    submission = read_submission(
        unit,
        access,
        case_id,
        sendable.schema,
        form,
        max_bytes=p.settings.max_upload_bytes,
        now=p.clock(),
    )
    data = submission.data
    if submission.errors or submission.general:
        unit.rollback()  # the PDFs uploaded with a refused form do not join the case
        return _message_page(
            request,
            access,
            unit,
            case_id,
            sendable,
            values=data,
            errors=submission.errors,
            general=submission.general,
            status=422,
        )
    try:
        case_messages.deliver_from_page(
            unit,
            tenant=access.tenant.siren,
            case_id=case_id,
            message=message,
            payload=data,
            actor=access.actor,
            now=p.clock(),
        )
    except FormValidationError as exc:
        unit.rollback()
        errors, general = errors_by_field(sendable.schema, exc.errors)
        return _message_page(
            request,
            access,
            unit,
            case_id,
            sendable,
            values=data,
            errors=errors,
            general=general,
            status=422,
        )
    except (InvalidInput, Conflict) as exc:
        unit.rollback()
        general = [f"{str(exc).rstrip('.')} : rien n'a été enregistré."]
        return _message_page(
            request, access, unit, case_id, sendable, values=data, general=general, status=409
        )
    unit.commit()
    flash(request, f"« {sendable.action} » : enregistré.")
    return see_other(f"/c/{access.tenant.siren}/dossiers/{case_id}")
