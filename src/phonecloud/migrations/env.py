"""Alembic environment: runs on the engine the application hands over (or PHONECLOUD settings)."""

from alembic import context

from phonecloud.server.models import metadata

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # `alembic` invoked by hand: use the server's settings
        from phonecloud.core.db import Database
        from phonecloud.core.settings import Settings

        engine = Database(Settings().resolved_database_url).engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
