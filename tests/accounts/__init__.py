"""Accounts: sign-in and its throttling, the quota, account deletion."""
