"""The Alembic environment of shopdb (Flask-Migrate). A package so installed wheels carry it."""
