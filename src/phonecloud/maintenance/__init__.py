"""Maintenance across the data kinds: crash recovery and its periodic sweep, the integrity scrub, and moving
an install to other storage. Each loops over the registered kinds' hooks (core/kinds.py) and the blob store;
none names a kind."""
