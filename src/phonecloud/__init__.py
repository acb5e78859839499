"""phonecloud: a self-hostable cloud for a phone's personal data, built so that leaving is a feature."""

__version__ = "0.1.0"
