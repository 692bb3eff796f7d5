"""Alembic migrations for Baton's schema (SQLite and PostgreSQL)."""
