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
