"""An act cannot change after its signature: lock its form before signing, judge strictly after.

Choice for the signature circuits (visas, then the mayor, then the seal):

- Before the FIRST signature the form is flattened: each field's appearance becomes page
  content and the field disappears, so nothing is left to fill.
- A document that arrives already signed elsewhere with fields still live cannot be flattened
  (that would break its signatures): our signature then locks every non-signature field with
  FieldMDP ``/Include`` (names listed), which Acrobat and pyHanko enforce.
- We do NOT certify (DocMDP) the first signature: pyHanko (like ETSI validators) refuses visible
  signature fields added after a certification, which would forbid the mayor's visible block
  after a visa; and FieldMDP ``/All`` would lock the signature fields yet to be created as well.
- Validation uses :data:`ACT_DIFF_POLICY`: after a signature, only new signatures, document
  timestamps and validation data may be added. Filling or changing any other field, adding an
  annotation, a page or content is a modification: the act is NOT valid.
"""

from __future__ import annotations

import io
import mmap
from typing import Any

import pikepdf
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, StandardDiffPolicy
from pyhanko.sign.diff_analysis.form_rules_api import FormUpdatingRule
from pyhanko.sign.diff_analysis.rules.form_field_rules import (
    SigFieldCreationRule,
    SigFieldModificationRule,
)
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec

from signatures.errors import DocumentRefusedError

__all__ = [
    "ACT_DIFF_POLICY",
    "MAX_FIELDS",
    "field_lock",
    "flatten_form",
    "flatten_form_bytes",
    "live_field_names",
]

MAX_FIELDS = 10_000
"""Most form fields walked in one document (a bound on untrusted input)."""

ACT_DIFF_POLICY = StandardDiffPolicy(
    global_rules=DEFAULT_DIFF_POLICY.global_rules,
    form_rule=FormUpdatingRule(
        # pyHanko's default also has GenericFieldModificationRule: form filling after a
        # signature. Without it, a changed non-signature field is an unexplained change.
        field_rules=[SigFieldCreationRule(), SigFieldModificationRule()],  # type: ignore[no-untyped-call]
    ),
)
"""Modification policy for signed acts: only signatures, timestamps and validation data."""


def _resolved(obj: Any) -> Any:
    """A pyHanko indirect reference's object (pikepdf resolves references by itself)."""
    return obj.get_object() if isinstance(obj, generic.IndirectObject) else obj  # type: ignore[no-untyped-call]


def _non_signature_fields(fields: Any) -> tuple[str, ...]:
    """Fully qualified names of the terminal fields that are not signature fields.

    Works on pikepdf and pyHanko objects alike; the walk is bounded (untrusted input).
    """
    found: set[str] = set()
    stack: list[tuple[Any, str, Any, int]] = [(fields, "", None, 0)]
    seen = 0
    while stack:
        array, prefix, inherited, depth = stack.pop()
        array = _resolved(array)
        if depth > 32 or not isinstance(array, pikepdf.Array | list):
            continue
        for item in array:
            seen += 1
            if seen > MAX_FIELDS:
                raise DocumentRefusedError("Le formulaire du document a trop de champs.")
            field = _resolved(item)
            if not isinstance(field, pikepdf.Dictionary | dict):
                continue
            own = field.get("/T")
            name = f"{prefix}.{own}" if prefix and own is not None else str(own or prefix)
            kind = field.get("/FT", inherited)
            kids = _resolved(field.get("/Kids"))
            if isinstance(kids, pikepdf.Array | list) and any(
                isinstance(_resolved(k), pikepdf.Dictionary | dict) and "/T" in _resolved(k)
                for k in kids
            ):
                stack.append((kids, name, kind, depth + 1))
            elif kind != "/Sig":
                found.add(name)
    return tuple(sorted(found))


def live_field_names(pdf: pikepdf.Pdf) -> tuple[str, ...]:
    """Fully qualified names of the form fields that are not signature fields."""
    form = pdf.Root.get("/AcroForm")
    if not isinstance(form, pikepdf.Dictionary):
        return ()
    return _non_signature_fields(form.get("/Fields"))


def _has_widgets(pdf: pikepdf.Pdf) -> bool:
    for page in pdf.pages:
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            if isinstance(annot, pikepdf.Dictionary) and annot.get("/Subtype") == "/Widget":
                return True
    return False


def flatten_form(pdf: pikepdf.Pdf) -> bool:
    """Flatten the form of an unsigned document in place; True when something was flattened.

    Appearances are generated where missing, then every field (and every other annotation
    that has an appearance) is drawn into its page's content and removed.
    """
    form = pdf.Root.get("/AcroForm")
    if not live_field_names(pdf) and not _has_widgets(pdf):
        return False
    if isinstance(form, pikepdf.Dictionary):
        form.NeedAppearances = True
    try:
        pdf.generate_appearance_streams()
        pdf.flatten_annotations("all")
    except pikepdf.PdfError as exc:
        raise DocumentRefusedError(
            "Le formulaire du document ne peut pas être figé avant signature."
        ) from exc
    if "/AcroForm" in pdf.Root and live_field_names(pdf):
        raise DocumentRefusedError(
            "Le formulaire du document ne peut pas être figé avant signature."
        )
    return True


def flatten_form_bytes(data: bytes | mmap.mmap) -> bytes | None:
    """``data`` with its form flattened, or None when it has no form to flatten."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if not flatten_form(pdf):
                return None
            out = io.BytesIO()
            pdf.save(out)
            return out.getvalue()
    except pikepdf.PdfError as exc:
        raise DocumentRefusedError("Le document PDF est corrompu ou illisible.") from exc


def field_lock(reader: PdfFileReader) -> FieldMDPSpec | None:
    """A FieldMDP lock of every live non-signature field of an already signed document."""
    form = reader.root.get("/AcroForm")
    if form is None:
        return None
    names = _non_signature_fields(form.get_object().get("/Fields"))
    return FieldMDPSpec(action=FieldMDPAction.INCLUDE, fields=list(names)) if names else None
