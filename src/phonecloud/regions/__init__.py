"""Regions: each account's country, named groups of countries, and the kinds of data each group may add."""
