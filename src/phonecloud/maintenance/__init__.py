"""Maintenance across the domains: startup recovery and the integrity scrub.

A domain of its own rather than part of core/: both read the gallery, media and upload tables and the
blob store together, and core/ stays below every domain, importing none of them.
"""
