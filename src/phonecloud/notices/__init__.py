"""Notices: messages from the server's operator shown on every page (maintenance, feature retirement)."""
