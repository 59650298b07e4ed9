"""Write-back: the events outbox delivered to the practice-management system (signed webhooks, HL7 v2 over MLLP,
FHIR R4), at least once and in order per appointment."""
