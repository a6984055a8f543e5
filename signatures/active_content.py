"""Active content in a PDF (scripts, launched programs, automatic actions): find it, remove it.

A PDF reader may run JavaScript when the document opens (/OpenAction), from the document-level
name tree (/Names/JavaScript), on page or field events (/AA), or start a program (/Launch).
None of it belongs in an administrative document. Callers run these functions on untrusted
files only inside the bounded child process (`signatures.sandbox`).

The walk visits every indirect object once (qpdf's flat object table) and the direct objects
nested in it with an explicit stack: no recursion, whatever the nesting depth.
"""

from __future__ import annotations

from collections.abc import Iterator

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

__all__ = ["find_active_content", "remove_active_content"]

_DANGEROUS_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "lancement d'un programme (/Launch)",
    "/ImportData": "import de données (/ImportData)",
    "/RichMediaExecute": "commande multimédia (/RichMediaExecute)",
}
_PAYLOAD_KEYS = ("/JS", "/F", "/Win", "/Mac", "/Unix", "/CMD")
_ACTION_KEYS = ("/A", "/OpenAction", "/Next")


def _nested(values: Iterator[object]) -> Iterator[object]:
    """The direct containers among ``values`` (indirect ones are visited on their own)."""
    return (v for v in values if isinstance(v, (Dictionary, Array, Stream)) and not v.is_indirect)


def _dictionaries(pdf: pikepdf.Pdf) -> Iterator[Dictionary]:
    """Every dictionary of the file (stream dictionaries included), each once."""
    for obj in pdf.objects:
        stack: list[object] = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, Stream):
                yield item.stream_dict
                stack.extend(_nested(iter(item.stream_dict.values())))
            elif isinstance(item, Dictionary):
                yield item
                stack.extend(_nested(iter(item.values())))
            elif isinstance(item, Array):
                stack.extend(_nested(iter(item)))


def _action_kind(action: object) -> str | None:
    """The French label of a dangerous action (or of the first in its /Next chain)."""
    seen: set[tuple[int, int]] = set()
    pending = [action]
    while pending:
        item = pending.pop()
        if isinstance(item, Array):
            pending.extend(item)
            continue
        if not isinstance(item, Dictionary):
            continue
        if item.is_indirect:
            if item.objgen in seen:
                continue
            seen.add(item.objgen)
        kind = _DANGEROUS_ACTIONS.get(str(item.get("/S", "")))
        if kind is not None or "/JS" in item:
            return kind or "JavaScript"
        if "/Next" in item:
            pending.append(item["/Next"])
    return None


def _inspect(pdf: pikepdf.Pdf, *, remove: bool) -> tuple[str, ...]:
    found: list[str] = []
    root = pdf.Root
    names = root.get("/Names")
    if isinstance(names, Dictionary) and "/JavaScript" in names:
        found.append("JavaScript du document (/Names/JavaScript)")
        if remove:
            del names["/JavaScript"]
    form = root.get("/AcroForm")
    if isinstance(form, Dictionary) and "/XFA" in form:
        found.append("formulaire XFA (scripts)")
        if remove:
            del form["/XFA"]
    for dictionary in _dictionaries(pdf):
        if "/AA" in dictionary:
            found.append("actions automatiques (/AA)")
            if remove:
                del dictionary["/AA"]
        for key in _ACTION_KEYS:
            kind = _action_kind(dictionary.get(key)) if key in dictionary else None
            if kind is None:
                continue
            where = " à l'ouverture (/OpenAction)" if key == "/OpenAction" else ""
            found.append(kind + where)
            if remove:
                del dictionary[key]
        kind = _DANGEROUS_ACTIONS.get(str(dictionary.get("/S", "")))
        if kind is None and "/JS" in dictionary:
            kind = "JavaScript"
        if kind is None:
            continue
        found.append(kind)
        if remove:
            # Also reachable from places the walk does not name: empty the action itself.
            for key in _PAYLOAD_KEYS:
                if key in dictionary:
                    del dictionary[key]
            dictionary[Name.S] = Name("/Named")
            dictionary[Name.N] = Name("/FirstPage")
    return tuple(dict.fromkeys(found))


def find_active_content(pdf: pikepdf.Pdf) -> tuple[str, ...]:
    """What active content ``pdf`` holds, in French, each kind once (empty when none)."""
    return _inspect(pdf, remove=False)


def remove_active_content(pdf: pikepdf.Pdf) -> tuple[str, ...]:
    """Remove /Names/JavaScript, /AA, XFA and every JavaScript, Launch, ImportData and
    RichMediaExecute action from ``pdf`` (in place); returns what was removed, in French."""
    return _inspect(pdf, remove=True)
