"""Every table, imported once so metadata and migrations see the whole schema."""

from backend.access.models import (
    AgentLink,
    ApiKey,
    AuditEntry,
    IdempotentReply,
    PartnerLink,
    SignInLink,
    SummaryMail,
    User,
    UserScope,
)
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
    "AuditEntry",
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
    "PartnerLink",
    "PushSubscription",
    "Rotation",
    "Rule",
    "SignInLink",
    "SummaryMail",
    "Team",
    "User",
    "UserScope",
]
