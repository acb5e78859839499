"""The messages kind's web pages: conversations, a conversation's thread, search, the call log and imports."""
