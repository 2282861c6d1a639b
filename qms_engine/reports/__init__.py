"""Reports over an office: what an ISO 9001 audit would find missing (readiness)."""
