"""Alembic environment: runs on the connection `app.migrations.upgrade` hands over."""

from alembic import context

from app.models import SQLModel

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Run migrations with `python -m app migrate`, which supplies the connection."
    )

context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    transactional_ddl=True,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
