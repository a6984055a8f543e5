"""Shared CLI plumbing: settings, platform, one-line errors, JSON input."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.bootstrap import Platform
from engine.domain.errors import DematflowError, FormValidationError
from engine.domain.model import Actor
from engine.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    return Settings()


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
