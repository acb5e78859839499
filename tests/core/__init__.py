"""The core's infrastructure: blob stores, errors, settings, dates, HTTP answers every route owes."""
