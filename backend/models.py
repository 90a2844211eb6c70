"""Every table, imported once so metadata and migrations see the whole schema."""

from backend.access.models import AgentLink, ApiKey, IdempotentReply, SignInLink, User
from backend.db import Base
from backend.identity.models import ProspectKey
from backend.intake.models import Inquiry, LeadValue
from backend.notify.models import Notification, PushSubscription
from backend.pursuit.models import Activity, Lead, LeadEvent, Offer
from backend.roster.models import Agent, Partner, Team
from backend.routing.models import Decision, Rotation, Rule
from backend.scoring.models import AgentEvidence, GroupEvidence

__all__ = [
    "Activity",
    "Agent",
    "AgentEvidence",
    "AgentLink",
    "ApiKey",
    "Base",
    "Decision",
    "GroupEvidence",
    "IdempotentReply",
    "Inquiry",
    "Lead",
    "LeadEvent",
    "LeadValue",
    "Notification",
    "Offer",
    "Partner",
    "ProspectKey",
    "PushSubscription",
    "Rotation",
    "Rule",
    "SignInLink",
    "Team",
    "User",
]
