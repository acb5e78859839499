"""The server assembled: the app factory, the services container and the model registry, above the domains
(core/ below them is infrastructure only and imports none)."""
