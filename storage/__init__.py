"""Persistence: SQLAlchemy models, repositories and Alembic migrations."""

from storage.db import Database
from storage.repos import Store

__all__ = ["Database", "Store"]
