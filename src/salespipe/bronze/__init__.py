"""Bronze: raw files exactly as they arrived, date-partitioned and never modified."""
