"""Journey events pushed to open dashboards as they are committed, through Litestar channels.

A session listener collects the ``LeadEvent`` rows each flush writes, with the teams and
partner companies of the agents involved (read in the same transaction, so a viewer's
scope can be checked without a database); once the commit succeeds they are published,
and a rollback forgets them. The in-memory channels backend serves one process; with
``PURSUIT_REDIS_URL`` set, every instance shares Redis pub/sub.
"""

from __future__ import annotations

import json
import logging
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from sqlalchemy import Engine, select
from sqlalchemy.event import listens_for
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend.console.formatting import lead_title
from backend.console.scope import Scope
from backend.inserts import after_insert_new
from backend.pursuit.models import Lead, LeadEvent
from backend.roster.models import Agent

logger = logging.getLogger(__name__)

CHANNEL = "lead-events"
COLLECTED = "live_events"
SHOWN = (
    "received",
    "offered",
    "accepted",
    "declined",
    "expired",
    "withdrawn",
    "contacted",
    "unassigned",
    "won",
    "lost",
    "spam",
    "inquiry_coalesced",
)
_plugins: weakref.WeakKeyDictionary[Engine, ChannelsPlugin] = weakref.WeakKeyDictionary()


def channels_plugin(redis_url: str | None) -> ChannelsPlugin:
    if redis_url:
        from redis.asyncio import Redis

        backend: Any = RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))
    else:
        backend = MemoryChannelsBackend()
    return ChannelsPlugin(backend=backend, channels=[CHANNEL], subscriber_max_backlog=1000)


def publish_from(engine: AsyncEngine, plugin: ChannelsPlugin) -> None:
    """Publish what sessions on ``engine`` commit; other engines (the CLI's) publish nothing."""
    _plugins[engine.sync_engine] = plugin


@dataclass
class LiveEvent:
    lead_id: str
    type: str
    at: str
    title: str = ""
    agent: str = ""
    team_ids: list[str] = field(default_factory=list)
    partner_ids: list[str] = field(default_factory=list)

    def visible_to(self, scope: Scope) -> bool:
        return scope.sees_any(self.team_ids, self.partner_ids)


def _agent_ids(event: LeadEvent) -> set[str]:
    found = {event.data.get("agent_id")} if isinstance(event.data, dict) else set()
    kind, _, ident = event.actor.partition(":")
    if kind == "agent":
        found.add(ident)
    return {a for a in found if isinstance(a, str) and a}


def _lead(session: Session, lead_id: str) -> Lead | None:
    found = session.identity_map.get(identity_key(Lead, lead_id))
    return found if isinstance(found, Lead) else None


@listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    _collect_new(session, list(session.new))


@after_insert_new
def _collect_inserted(session: Session, objects: Sequence[Any]) -> None:
    _collect_new(session, objects)


def _collect_new(session: Session, new: Sequence[Any]) -> None:
    """Keep the new events the console shows, to publish once they are committed."""
    if session.bind not in _plugins:
        return
    events = [e for e in new if isinstance(e, LeadEvent) and e.type in SHOWN]
    if not events:
        return
    # A lead inserted by this flush is still among the new objects, not yet in the map.
    fresh = {obj.id: obj for obj in new if isinstance(obj, Lead)}
    leads = {e.lead_id: fresh.get(e.lead_id) or _lead(session, e.lead_id) for e in events}
    # Everyone a lead's new events name: a broadcast writes one event per agent offered.
    involved: dict[str, set[str]] = defaultdict(set)
    for e in events:
        involved[e.lead_id] |= _agent_ids(e)
    for lead_id, lead in leads.items():
        if lead is not None and lead.owner_id:
            involved[lead_id].add(lead.owner_id)
    wanted = sorted(set().union(*involved.values()))
    agents = {}
    if wanted:
        rows = session.connection().execute(
            select(Agent.id, Agent.name, Agent.team_id, Agent.partner_id).where(
                Agent.id.in_(wanted)
            )
        )
        agents = {row.id: row for row in rows}
    kept = session.info.setdefault(COLLECTED, [])
    for event in sorted(events, key=lambda e: e.id):
        kept.append(_live_event(event, leads[event.lead_id], involved[event.lead_id], agents))


def _live_event(
    event: LeadEvent, lead: Lead | None, involved: Iterable[str], agents: dict[str, Any]
) -> LiveEvent:
    people = [agents[a] for a in sorted(involved) if a in agents]
    named = agents.get(next(iter(sorted(_agent_ids(event))), ""))
    alerted = event.data.get("team_ids") if isinstance(event.data, dict) else None
    return LiveEvent(
        lead_id=event.lead_id,
        type=event.type,
        at=event.at.isoformat(),
        title=lead_title(lead) if lead is not None else "",
        agent=named.name if named is not None else "",
        team_ids=sorted({p.team_id for p in people if p.team_id} | set(alerted or [])),
        partner_ids=sorted({p.partner_id for p in people if p.partner_id}),
    )


@listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    kept = session.info.pop(COLLECTED, None)
    plugin = _plugins.get(session.bind) if isinstance(session.bind, Engine) else None
    if not kept or plugin is None:
        return
    for event in kept:
        plugin.publish(json.dumps(event.__dict__), CHANNEL)


@listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(COLLECTED, None)


async def events_for(subscriber: Subscriber, scope: Scope) -> AsyncIterator[LiveEvent]:
    """Committed events the scope may see, as they come to a subscriber of ``CHANNEL``."""
    async for raw in subscriber.iter_events():
        try:
            event = LiveEvent(**json.loads(raw))
        except (ValueError, TypeError):
            logger.warning("live event unreadable size=%s", len(raw))
            continue
        if event.visible_to(scope):
            yield event


FEED_WORDS = {
    "received": "new lead",
    "offered": "offered to {agent}",
    "accepted": "accepted by {agent}",
    "declined": "declined by {agent}",
    "expired": "offer to {agent} expired",
    "withdrawn": "offer to {agent} withdrawn",
    "contacted": "contacted by {agent}",
    "unassigned": "waiting for a manager",
    "won": "won",
    "lost": "lost",
    "spam": "closed as spam",
    "inquiry_coalesced": "another inquiry joined",
}


def words(event: LiveEvent) -> str:
    """What happened, as the live feed says it."""
    said = FEED_WORDS.get(event.type, event.type.replace("_", " "))
    return said.format(agent=event.agent or "an agent")
