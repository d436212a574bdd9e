"""The store: SQLAlchemy models, engine/session helpers and Alembic migrations."""

from synthguard.store.models import Base, LabelRecord, SigningKey
from synthguard.store.session import make_engine, make_sessionmaker, upgrade

__all__ = ["Base", "LabelRecord", "SigningKey", "make_engine", "make_sessionmaker", "upgrade"]
