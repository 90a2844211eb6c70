"""Placeholder until the rep screens land."""

from typing import Any

ROUTES: list[Any] = []
