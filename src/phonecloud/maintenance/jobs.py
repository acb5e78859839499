"""The periodic sweep's job kind, importable without the rest of maintenance."""

SWEEP_JOB = "maintenance.sweep"
