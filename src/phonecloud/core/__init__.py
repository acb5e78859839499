"""The small core: settings, database, blob store and the HTTP application that the domains plug into."""
