"""Retiring a kind of data in some regions: a scheduled, announced, audited and provably complete process."""
