"""JSON Schema -> HTML fields, and submitted values -> JSON, without a server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.datastructures import FormData

from engine.domain.errors import FieldError
from engine.services.form_sources import Choice, source_key, source_of
from web.forms import FormField, errors_by_field, fields_of, invalid_fields, read_form, read_values
from web.templating import ENV

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
FORM_FILE = re.compile(r'name="formJsonSchemaFilename"\s+value="([^"]+)"')

SCHEMA = {
    "type": "object",
    "required": ["montant", "objet"],
    "properties": {
        "objet": {"type": "string", "title": "Objet", "maxLength": 200},
        "texte": {"type": "string", "maxLength": 5000},
        "montant": {"type": "number", "title": "Montant HT", "minimum": 0},
        "lots": {"type": "integer"},
        "urgent": {"type": "boolean", "title": "Urgent"},
        "procedure": {"type": "string", "enum": ["a", "b", "c", "d", "e"]},
        "annexes": {"type": "array"},
    },
}


def test_widgets_follow_the_schema() -> None:
    fields = {f.name: f for f in fields_of(SCHEMA, errors={"objet": "trop court"})}
    assert fields["objet"].widget == "text" and fields["objet"].attrs == {"data-maxlength": 200}
    assert fields["objet"].required and fields["objet"].error == "trop court"
    assert fields["texte"].widget == "textarea" and fields["texte"].label == "texte"
    assert fields["montant"].widget == "number" and fields["montant"].attrs["step"] == "any"
    assert fields["urgent"].widget == "checkbox"
    assert fields["procedure"].widget == "select" and len(fields["procedure"].options) == 5
    assert fields["annexes"].widget == "unsupported"  # an array of nothing in particular


def test_submitted_values_become_typed_json() -> None:
    form = {"objet": "  Achat  ", "texte": "", "montant": "12,5", "lots": "deux", "urgent": "on"}
    assert read_form(SCHEMA, form) == {
        "objet": "Achat",
        "montant": 12.5,
        "lots": "deux",  # left as text: the engine's validation names the field
        "urgent": True,
    }
    assert read_form(SCHEMA, {})["urgent"] is False


def test_errors_are_put_next_to_their_field() -> None:
    by_field, general = errors_by_field(
        SCHEMA, [FieldError("objet", "obligatoire"), FieldError("x,y", "champ inconnu")]
    )
    assert by_field == {"objet": "obligatoire"}
    assert general == ["x,y : champ inconnu"]


def _task_forms() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every user task form of every BPMN in processes/ (circuits included)."""
    for bpmn in sorted(PROCESSES.glob("*/*.bpmn")):
        for name in FORM_FILE.findall(bpmn.read_text(encoding="utf-8")):
            path = bpmn.parent / "forms" / name
            assert path.is_file(), f"{bpmn.name} names a missing form {name}"
            yield f"{bpmn.parent.name}/{name}", json.loads(path.read_text(encoding="utf-8"))


def _leaves(fields: list[FormField] | tuple[FormField, ...]) -> Iterator[FormField]:
    for f in fields:
        yield f
        yield from _leaves(f.children)
        for row in f.rows:
            yield from _leaves(row)
        yield from _leaves(f.template)


def _sample_choices(schema: dict[str, Any]) -> dict[str, list[Choice]]:
    """One choice per sourced field, so that every option list renders."""
    choices: dict[str, list[Choice]] = {}

    def walk(node: dict[str, Any]) -> None:
        for prop in dict(node.get("properties", {})).values():
            source = source_of(prop)
            if source is not None:
                choices[source_key(source)] = [Choice("c1", "Choix un", "Groupe")]
            walk(prop)
            walk(prop.get("items") or {})

    walk(schema)
    return choices


MACRO = ENV.from_string(
    '{% from "_form_fields.html" import form_field with context %}'
    "{% for f in fields %}{{ form_field(f) }}{% endfor %}"
)


def test_every_field_of_every_procedure_form_has_a_widget() -> None:
    forms = list(_task_forms())
    assert len(forms) >= 29  # every shipped procedure, the shared circuit included
    for where, schema in forms:
        fields = fields_of(schema, choices=_sample_choices(schema))
        for f in _leaves(fields):
            assert f.widget != "unsupported", f"{where}: {f.name} has no widget"
        html = MACRO.render(fields=fields, tenant={"siren": "000000000"}, preview_ids=set())
        assert "ne peut pas" not in html, where
        for f in _leaves(fields):
            if f.widget in ("group", "repeat", "document", "documents", "radio", "checkboxes"):
                assert f'id="{f.input_id}"' in html, f"{where}: {f.name}"
            else:
                assert re.search(rf'<(input|select|textarea)[^>]*id="{f.input_id}"', html), (
                    f"{where}: {f.name} rendered without an input"
                )


DOC = {"type": "object", "x-document": True, "properties": {"id": {"type": "string"}}}
NESTED = {
    "type": "object",
    "required": ["projet", "seance"],
    "properties": {
        "projet": {**DOC, "title": "Projet"},
        "annexes": {"type": "array", "items": DOC},
        "seance": {"type": "string", "format": "date-time"},
        "titulaire": {
            "type": "object",
            "properties": {"nom": {"type": "string"}, "siret": {"type": "string"}},
        },
        "classement": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {"candidat": {"type": "string"}, "rang": {"type": "integer"}},
            },
        },
        "courriels": {"type": "array", "items": {"type": "string", "format": "email"}},
        "supports": {"type": "array", "items": {"type": "string", "enum": ["boamp", "jal"]}},
    },
}
REFS = {
    "d1": {"id": "d1", "nom": "projet.pdf", "sha256": "a" * 64, "taille": 10, "type": "pdf"},
    "d2": {"id": "d2", "nom": "annexe.pdf", "sha256": "b" * 64, "taille": 20, "type": "pdf"},
}


def test_nested_lists_documents_and_paris_times_are_read_back() -> None:
    form = FormData(
        [
            ("projet", "d1"),
            ("annexes", "d2"),
            ("seance", "2027-01-28T18:30"),
            ("titulaire.nom", "Bâtiment SA"),
            ("titulaire.siret", ""),
            ("classement.0.candidat", "Alpha"),
            ("classement.0.rang", "1"),
            ("classement.1.candidat", ""),  # an emptied row is dropped
            ("classement.1.rang", ""),
            ("classement.7.candidat", "Bêta"),
            ("classement.7.rang", "2"),
            ("courriels", "a@x.fr\r\n\r\n b@x.fr "),
            ("supports", "boamp"),
            ("supports", "jal"),
        ]
    )
    reading = read_values(NESTED, form, documents=REFS, added={"annexes": ["d1"]})
    assert reading.errors == {}
    assert reading.data == {
        "projet": {"id": "d1", "nom": "projet.pdf", "sha256": "a" * 64, "taille": 10},
        "annexes": [
            {"id": "d2", "nom": "annexe.pdf", "sha256": "b" * 64, "taille": 20},
            {"id": "d1", "nom": "projet.pdf", "sha256": "a" * 64, "taille": 10},
        ],
        "seance": "2027-01-28T18:30:00+01:00",  # winter: Paris is UTC+1
        "titulaire": {"nom": "Bâtiment SA"},
        "classement": [{"candidat": "Alpha", "rang": 1}, {"candidat": "Bêta", "rang": 2}],
        "courriels": ["a@x.fr", "b@x.fr"],
        "supports": ["boamp", "jal"],
    }
    summer = read_values(NESTED, FormData([("seance", "2027-07-01T09:00")]))
    assert summer.data["seance"] == "2027-07-01T09:00:00+02:00"

    # Shown again as typed: Paris time, picked documents, one item a line, rows.
    fields = {f.name: f for f in fields_of(NESTED, reading.data)}
    assert fields["seance"].widget == "datetime-local" and fields["seance"].value == (
        "2027-01-28T18:30"
    )
    assert fields["projet"].selected == {"d1"} and fields["annexes"].selected == {"d1", "d2"}
    assert fields["courriels"].widget == "lines" and fields["courriels"].value == "a@x.fr\nb@x.fr"
    assert [[c.value for c in row] for row in fields["classement"].rows] == [
        ["Alpha", 1],
        ["Bêta", 2],
    ]
    assert fields["supports"].widget == "checkboxes"


def test_unreadable_values_and_unknown_documents_get_french_messages() -> None:
    form = FormData([("projet", "inconnu"), ("seance", "demain soir")])
    reading = read_values(NESTED, form, documents=REFS)
    assert reading.errors == {
        "projet": "ce document n'est pas (ou plus) dans le dossier",
        "seance": "date et heure attendues (jj/mm/aaaa hh:mm)",
    }
    assert reading.data == {"seance": "demain soir"}  # shown again as typed


def test_errors_inside_groups_and_rows_reach_their_input() -> None:
    by_field, _ = errors_by_field(
        NESTED,
        [
            FieldError("classement/0/rang", "type attendu : nombre entier"),
            FieldError("projet/sha256", "ce champ est obligatoire"),
            FieldError("titulaire/nom", "au moins 2 caractère(s)"),
        ],
    )
    fields = fields_of(NESTED, {"classement": [{"rang": "x"}]}, by_field)
    invalid = {f.input_id: f.error for f in invalid_fields(fields)}
    assert invalid == {
        "champ-projet": "ce champ est obligatoire",
        "champ-titulaire-nom": "au moins 2 caractère(s)",
        "champ-classement-0-rang": "type attendu : nombre entier",
    }


def _form(procedure: str, name: str) -> dict[str, Any]:
    path = PROCESSES / procedure / "forms" / name
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def test_vote_totals_must_match_attendance_and_proxies() -> None:
    from engine.domain.errors import FormValidationError
    from engine.services.forms import validate_form

    vote = _form("seance-conseil", "enregistrer_vote.json")
    good = {"presents_au_vote": 21, "pouvoirs_au_vote": 3, "pour": 19, "contre": 3}
    good |= {"abstentions": 2, "ne_prend_pas_part": 0}
    assert validate_form(vote, good) == good
    try:
        validate_form(vote, {**good, "pour": 20, "pouvoirs_au_vote": 22})
    except FormValidationError as exc:
        messages = {e.path: e.message for e in exc.errors}
    else:
        raise AssertionError("inconsistent totals were accepted")
    assert messages["pour"].startswith("Les voix (pour, contre, abstentions et ne prennent pas")
    assert (
        "totalisent 25 alors que présents et pouvoirs au moment du vote sont 43"
        in (messages["pour"])
    )
    assert messages["pouvoirs_au_vote"].startswith("22 pouvoir(s) pour 21 présent(s)")

    attendance = _form("seance-conseil", "constater_presences.json")
    names = {"president_seance": "Mme Marie Dupont", "secretaire_seance": "M. Jean Martin"}
    try:
        validate_form(
            attendance, {"membres_en_exercice": 27, "presents": 25, "pouvoirs": 4, **names}
        )
    except FormValidationError as exc:
        assert [(e.path, e.message) for e in exc.errors] == [
            (
                "presents",
                "Présents et pouvoirs (29) dépassent le nombre de conseillers en exercice (27).",
            )
        ]
    else:
        raise AssertionError("more present than in office was accepted")


def test_a_row_asked_for_is_added_blank_and_numbered_after_the_others() -> None:
    """Without script, « Ajouter une ligne » posts the form: it comes back with a blank row."""
    (classement,) = [
        f
        for f in fields_of(NESTED, {"classement": [{"candidat": "Alpha"}, {}]})
        if f.name == "classement"
    ]
    assert classement.widget == "repeat"
    assert [[c.name for c in row] for row in classement.rows] == [
        ["classement.0.candidat", "classement.0.rang"],
        ["classement.1.candidat", "classement.1.rang"],
    ]
    assert classement.rows[1][0].value is None
    assert [c.name for c in classement.template] == [
        "classement.__i__.candidat",
        "classement.__i__.rang",
    ]
    html = MACRO.render(fields=[classement], tenant={"siren": "000000000"}, preview_ids=set())
    assert 'name="_ajouter" value="classement"' in html and "<template>" in html


def test_a_list_that_may_be_empty_is_not_marked_obligatoire() -> None:
    """« Annexes (PDF) (obligatoire) » on the draft of a deliberation, though a project may have
    no annex (the key is required, the list may be empty): journey 1 read it as mandatory."""
    root = Path(__file__).resolve().parents[2]
    schema = json.loads(
        (root / "processes" / "deliberation" / "forms" / "rediger_projet.json").read_text()
    )
    fields = {f.name: f for f in fields_of(schema)}
    assert "annexes" in schema["required"] and not fields["annexes"].required
    # and a project sent without any annex is read as having none (it was refused: « annexes »
    # missing, since an empty pick sends nothing)
    assert read_values(schema, FormData([("objet", "Un objet")])).data["annexes"] == []
    assert fields["projet"].required and fields["objet"].required
    at_least_one = {
        "type": "object",
        "required": ["points"],
        "properties": {"points": {"type": "array", "minItems": 1, "items": {"type": "string"}}},
    }
    (points,) = fields_of(at_least_one)
    assert points.required
