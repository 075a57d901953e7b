"""The sales event: the 24 canonical fields plus an envelope, one home for its names."""

EVENT_ID = "event_id"
"""Unique per event; a re-delivery repeats it."""
EVENT_TIME = "event_time"
"""When the source says this version of the line happened (RFC 3339, with a zone)."""
ENVELOPE_FIELDS = (EVENT_ID, EVENT_TIME)
