"""Every table, imported once so metadata and migrations see the whole schema."""

from backend.access.models import AgentLink, ApiKey, IdempotentReply, SignInLink, User
from backend.console.models import LeadSearchTerm
from backend.db import Base
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
    "LeadSearchTerm",
    "LeadValue",
    "Notification",
    "Offer",
    "Partner",
    "PushSubscription",
    "Rotation",
    "Rule",
    "SignInLink",
    "Team",
    "User",
]
