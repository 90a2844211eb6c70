"""Placeholder until the console screens land."""

from typing import Any

ROUTES: list[Any] = []
