"""Background work: the job queue and store writes (ingestion)."""
