"""Sharing: links to an album or a selection that anyone with the link may view (optionally with a password
and an expiry), and albums shared with other users of the same server, read-only or able to add."""
