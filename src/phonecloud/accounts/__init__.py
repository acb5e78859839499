"""Accounts: users, their devices and API keys, sessions and storage quotas."""
