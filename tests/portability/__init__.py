"""Exports: their layout, zip format, interruptions and what they wait for."""
