"""Shared CLI plumbing: settings, platform, one-line errors, JSON input.

Every `engine.cli` module imports only click and light modules at its top (the domain's errors
and model): a library the command needs is imported inside the command, so that `--help` of any
command answers without loading SQLAlchemy, pyHanko or SpiffWorkflow
(`tests/cli/test_lazy_imports.py`)."""

from __future__ import annotations

import functools
import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from engine.domain.errors import DematflowError, FormValidationError
from engine.domain.model import Actor

if TYPE_CHECKING:
    from engine.bootstrap import Platform
    from engine.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def starting() -> Iterator[None]:
    """The imports and set-up of a long-running process (web, worker, serve), without the cyclic
    garbage collector: they create some hundred thousand objects that live as long as the
    process, which its full collections would walk again and again (about 15 % of a web
    process's start-up CPU). They are then frozen out of the collector's generations
    (`gc.freeze`), which also keeps their memory pages shared with forked children."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def settings() -> Settings:
    """The CLI's settings: the environment, completed by a running `dematflow serve` of the same
    data dir (its store and PKI) where the environment says nothing."""
    from engine.serve_descriptor import with_running_platform
    from engine.settings import Settings

    return with_running_platform(Settings())


def settings_with_store() -> Settings:
    """Settings for a command that needs the archive store; a one-line French error otherwise."""
    from engine.serve_descriptor import StaleDescriptor, read_descriptor

    s = settings()
    if s.storage.endpoint:
        return s
    try:
        read_descriptor(s.data_dir)
    except StaleDescriptor as exc:
        fail(str(exc), code=2)
    fail(
        "stockage d'archives non configuré : lancez « make run » (dematflow serve) avec ce "
        f"dossier de données ({s.data_dir}), ou définissez DEMATFLOW_STORAGE__ENDPOINT",
        code=2,
    )
    raise AssertionError("unreachable")


def platform_trust_roots() -> tuple[bytes, ...]:
    """DER trust anchors of the platform: the production ones (`DEMATFLOW_PKI__TRUST_ANCHORS`),
    else the root of the development PKI the data dir holds; a French error when neither."""
    from engine.services.signing_setup import dev_pki_dir, read_local_pki, trust_anchor_der
    from signatures.errors import KeyStoreError

    s = settings()
    roots: tuple[bytes, ...] = ()
    if s.pki.trust_anchors:
        roots = tuple(trust_anchor_der(path) for path in s.pki.trust_anchors)
    elif not s.pki.tsa_url:
        try:
            roots = read_local_pki(dev_pki_dir(s)).trust_roots
        except (KeyStoreError, OSError):
            roots = ()
    if not roots:
        fail(
            "aucune racine de confiance : précisez --trust-root, ou lancez « make run » dans "
            f"ce dossier (PKI de développement sous {dev_pki_dir(s)})",
            code=2,
        )
    return roots


def producer_platform() -> Platform:
    """A platform whose committed jobs are sent to the configured broker."""
    from engine.worker.app import connect_platform

    _app, platform = connect_platform(settings())
    return platform


def fail(message: str, code: int = 1) -> None:
    click.echo(f"erreur : {message}", err=True)
    sys.exit(code)


def one_line_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FormValidationError as exc:
            fail(f"formulaire invalide : {exc}")
        except DematflowError as exc:
            fail(str(exc))
        except (OSError, ValueError) as exc:
            fail(str(exc))

    return wrapper  # type: ignore[return-value]


def read_json(value: str | None) -> dict[str, Any]:
    """JSON given inline, or @path to read it from a file."""
    if not value:
        return {}
    text = Path(value[1:]).read_text(encoding="utf-8") if value.startswith("@") else value
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("un objet JSON est attendu")
    return data


def actor_for(platform: Platform, username: str | None, tenant: str) -> Actor:
    if not username:
        return Actor.system("cli")
    with platform.uow() as uow:
        row = uow.users.by_username(username.lower())
        if row is None:
            raise ValueError(f"utilisateur inconnu : {username}")
        roles = uow.users.roles(row.id, tenant)
    return Actor(user_id=f"user:{row.username}", roles=roles, display_name=row.display_name)


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
