"""Background jobs: persisted in the database, claimed with leases, retried with backoff.

Jobs are rows, so enqueueing happens in the same transaction as the change that needs them (an upload
and its media work are committed together or not at all), and the queue needs no other service.
"""
