"""CRM connectors: write-back to HubSpot and Salesforce, and CRM records taken in."""

from backend.crm import outbox as outbox
