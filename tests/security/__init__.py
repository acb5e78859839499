"""What every endpoint owes a hostile or careless client: exact refusals, isolation between users, bounded costs."""
