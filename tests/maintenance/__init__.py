"""Maintenance: crash recovery, scrub, storage migration, many processes, the admin CLI."""
