"""The rendering errors: one family, with French messages a user may read."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FontMissing",
    "MissingField",
    "MissingFields",
    "RenderError",
    "RenderLimitExceeded",
    "TemplateError",
    "UnknownTemplate",
]


class RenderError(Exception):
    """Base of every error raised by `engine.rendering`."""


class UnknownTemplate(RenderError):
    """No template has this name."""


class TemplateError(RenderError):
    """A template file is malformed (an authoring error, found when it is loaded)."""


class FontMissing(RenderError):
    """The DejaVu fonts are not installed (Debian package fonts-dejavu-core)."""


class RenderLimitExceeded(RenderError):
    """The context or the document is larger than the limits allow."""


@dataclass(frozen=True)
class MissingField:
    """A field the template needs and the context lacks (absent, null or empty)."""

    path: str
    """Where the field is, e.g. ``service.adresse`` or ``deliberations[2].resultat``."""
    label: str
    """What it is, in French, from the template's ``champs`` section."""
    problem: str = "absent"
    """``absent`` or a French explanation (``valeur inattendue « x »``, ``date illisible``)."""


class MissingFields(RenderError):
    """The context lacks fields the template needs: every one of them is listed."""

    def __init__(self, template: str, fields: list[MissingField]) -> None:
        self.template = template
        self.fields = tuple(fields)
        details = " ; ".join(
            f"« {f.path} » ({f.label})" + ("" if f.problem == "absent" else f" : {f.problem}")
            for f in self.fields
        )
        super().__init__(
            f"Impossible de produire le document « {template} » : "
            f"champ(s) manquant(s) ou invalide(s) dans le contexte : {details}."
        )
