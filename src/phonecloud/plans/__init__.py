"""Plans, memberships and the payments ledger: what a user is entitled to, and what they paid for it."""
