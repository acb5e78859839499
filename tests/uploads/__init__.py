"""Resumable uploads (tus): the protocol, standard clients, resuming across crashes."""
