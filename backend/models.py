"""Every table, imported once so metadata and migrations see the whole schema."""

from backend.access.devices import AgentSignInLink, DeviceSession
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
from backend.console.models import LeadSearchTerm
from backend.crm.models import CrmConnection, CrmInboundEvent, CrmLink, CrmOutboxItem
from backend.db import Base
from backend.identity.models import ProspectKey
from backend.intake.models import Inlet, Inquiry, LeadValue
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
    "AgentSignInLink",
    "ApiKey",
    "AuditEntry",
    "Base",
    "CrmConnection",
    "CrmInboundEvent",
    "CrmLink",
    "CrmOutboxItem",
    "Decision",
    "DeviceSession",
    "GroupEvidence",
    "IdempotentReply",
    "Inlet",
    "Inquiry",
    "Lead",
    "LeadEvent",
    "LeadSearchTerm",
    "LeadValue",
    "Notification",
    "Offer",
    "Partner",
    "PartnerLink",
    "ProspectKey",
    "PushSubscription",
    "Rotation",
    "Rule",
    "SignInLink",
    "SummaryMail",
    "Team",
    "User",
    "UserScope",
]
