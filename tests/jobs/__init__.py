"""The job queue and its workers, on SQLite and PostgreSQL."""
