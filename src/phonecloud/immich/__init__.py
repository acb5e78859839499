"""Immich's upload API, so that Immich's own command-line client (2.x, which speaks the API of Immich 1.x
servers, and 3.x, which speaks today's) and tools written for Immich back up into phonecloud's gallery.
A thin adapter over the gallery's services and phonecloud's API keys: see routes.py for what is covered."""
