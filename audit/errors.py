"""The audit side's errors: one base class, specific subclasses."""

from __future__ import annotations


class AuditError(Exception):
    """Base of every error the audit side raises."""


class LedgerRefused(AuditError):
    """The database refused a ledger write (append-only guard, sequence, chain)."""


class NoteError(AuditError):
    """A signed note (checkpoint) that cannot be parsed or whose signature fails."""


class KeyFileError(AuditError):
    """A signing or verification key that cannot be read."""


class BundleError(AuditError):
    """An export bundle that cannot be read at all (not JSON Lines, wrong format)."""


class ProofUnavailable(AuditError):
    """A proof asked for sizes or indexes the log does not have."""


class CheckpointMissing(AuditError):
    """No checkpoint has been signed yet."""


class DatabaseFailed(AuditError):
    """The database failed a statement (the driver's exception, translated in
    audit.store.driver_errors, is this one's cause)."""


class SchemaMissing(DatabaseFailed):
    """The database lacks Baton's schema: `baton init` has not run on it."""


class DatabaseBusy(DatabaseFailed):
    """Another writer held the database's lock for longer than the wait allows."""


class RowRefused(DatabaseFailed):
    """The database refused a row: a constraint or one of the ledger's guards."""


class NotInitialised(AuditError):
    """The database has no policy (or the process no signing key): `baton init` has not
    run."""


class DatabaseUnavailable(DatabaseFailed):
    """The database cannot take the statement now: its connection was lost or refused, or
    it is starting up or shutting down. The connection is discarded; a retry may work."""


class StorageFull(DatabaseUnavailable):
    """The database's disk is full: nothing was written."""


class ReadOnly(DatabaseUnavailable):
    """The database (or its files) can be read but not written."""


class OutcomeUnknown(DatabaseFailed):
    """The write committed but the flush that makes it durable failed (or, on PostgreSQL,
    the connection was lost once its COMMIT was sent, so it may have committed): it is in
    the database unless the database itself then lost it; a retry with the same
    Idempotency-Key returns it instead of writing again."""


class SigningUnavailable(AuditError):
    """The checkpoint signing key cannot be loaded: writes are refused rather than
    accepted without checkpoints. Its message names no path."""
