"""Typed search attributes that let operations staff find escalations in the Temporal UI.

They are stored unencrypted, so they carry references, agencies and clock facts, never child data.
"""

from temporalio.common import SearchAttributeKey

ESCALATION_STATUS = SearchAttributeKey.for_keyword("EscalationStatus")
ESCALATION_STAGE = SearchAttributeKey.for_int("EscalationStage")
RAISING_AGENCY = SearchAttributeKey.for_keyword("RaisingAgency")
RECEIVING_AGENCY = SearchAttributeKey.for_keyword("ReceivingAgency")
STAGE_DEADLINE = SearchAttributeKey.for_datetime("StageDeadline")
ESCALATION_OVERDUE = SearchAttributeKey.for_bool("EscalationOverdue")
# Set only on ladders with an acknowledgement step: whether the current stage acknowledged.
ESCALATION_ACKNOWLEDGED = SearchAttributeKey.for_bool("EscalationAcknowledged")
# While a resolution is open to the raiser's dispute.
DISPUTE_UNTIL = SearchAttributeKey.for_datetime("DisputeUntil")

ALL_KEYS = (
    ESCALATION_STATUS,
    ESCALATION_STAGE,
    RAISING_AGENCY,
    RECEIVING_AGENCY,
    STAGE_DEADLINE,
    ESCALATION_OVERDUE,
    ESCALATION_ACKNOWLEDGED,
    DISPUTE_UNTIL,
)
