"""Flask extensions, created unbound here and bound to the app in `create_app()`."""

from pathlib import Path

from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

import app.migrations

# Deterministic constraint names, so migrations can drop and alter them on MariaDB and SQLite alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Resolved from the installed `app.migrations` package (the repository's migrations/ folder, see setup.py), so
# `flask db upgrade` works from any directory and no `migrations/` folder of the current directory shadows it.
MIGRATIONS_DIR = Path(app.migrations.__file__).resolve().parent

db = SQLAlchemy(model_class=Base)
migrate = Migrate(directory=str(MIGRATIONS_DIR), compare_type=True, render_as_batch=True)
jwt = JWTManager()
api = Api()
cors = CORS()

