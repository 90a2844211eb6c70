"""What a signed-in console user may see: every team and partner, or only their own.

An admin sees everything. A manager sees the teams and partner companies they manage; the
ids are put in the session at sign-in, so every page can filter without another read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Scope:
    """None means no limit on that dimension; an empty set means nothing of it is visible."""

    team_ids: frozenset[str] | None = None
    partner_ids: frozenset[str] | None = None

    @property
    def unlimited(self) -> bool:
        return self.team_ids is None and self.partner_ids is None

    def sees_team(self, team_id: str | None) -> bool:
        return self.team_ids is None or (team_id is not None and team_id in self.team_ids)

    def sees_partner(self, partner_id: str | None) -> bool:
        return self.partner_ids is None or (
            partner_id is not None and partner_id in self.partner_ids
        )

    def sees_agent(self, team_id: str | None, partner_id: str | None) -> bool:
        """An agent is visible through its team or through its partner company."""
        if self.unlimited:
            return True
        return (team_id is not None and self.sees_team(team_id)) or (
            partner_id is not None and self.sees_partner(partner_id)
        )

    def sees_any(self, team_ids: Iterable[str], partner_ids: Iterable[str]) -> bool:
        """Whether any of these teams or partner companies is visible."""
        if self.unlimited:
            return True
        teams, partners = set(team_ids), set(partner_ids)
        return any(self.sees_team(t) for t in teams) or any(self.sees_partner(p) for p in partners)

    def to_session(self) -> dict[str, Any]:
        return {
            "team_ids": None if self.team_ids is None else sorted(self.team_ids),
            "partner_ids": None if self.partner_ids is None else sorted(self.partner_ids),
        }


EVERYTHING = Scope()


def _ids(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


def scope_from_session(session: Mapping[str, Any]) -> Scope:
    """The scope stored at sign-in; an admin, or a session from before scopes, sees all."""
    if session.get("role") == "admin":
        return EVERYTHING
    return Scope(
        team_ids=_ids(session.get("team_ids")), partner_ids=_ids(session.get("partner_ids"))
    )
