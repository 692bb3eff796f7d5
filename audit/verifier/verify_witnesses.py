"""The witness quorum a bundle's checkpoints must meet (c2sp.org/tlog-policy).

The rule: the NEWEST checkpoint in the bundle must carry valid cosignatures that meet the
policy's quorum, because it vouches for every event before it (its root covers them,
and every older checkpoint is checked against the same events). Older checkpoints
without the quorum are reported, not failed: witnesses are only ever shown the newest
checkpoint a log has, so most older ones carry no cosignature. Events after the newest
checkpoint are reported too: nothing a witness signed covers them yet.

Standard library plus `cryptography` only (the offline verifier imports this).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from audit.log.witness_policy import NONE, TrustPolicy

SHOWN = 8  # sizes named in a report line before "…"


class _Reported(Protocol):
    warnings: list[str]
    witnesses: list[str]


class Quorum:
    """The witnesses that cosigned each checkpoint size, judged at the end."""

    def __init__(self, policy: TrustPolicy):
        self.policy = policy
        self.signers: dict[int, set[str]] = {}

    def add(self, size: int, note: str, cosignatures: Sequence[str]) -> None:
        """A checkpoint note (already verified) and the cosignature lines beside it."""
        full = note + "".join(f"{line.rstrip(chr(10))}\n" for line in cosignatures)
        self.signers.setdefault(size, set()).update(self.policy.signed_by(full))

    def judge(self, events: int, report: _Reported) -> str | None:
        """The problem when the newest checkpoint lacks the quorum; reports the rest."""
        policy = self.policy
        if not self.signers:
            if policy.quorum == NONE:
                return None
            return (f"no checkpoint in the bundle, so none meets the witness quorum "
                    f"{policy.quorum!r}")
        newest = max(self.signers)
        signed = self.signers[newest]
        named = self._named(signed)
        if not policy.met(signed):
            return (f"checkpoint at size {newest} (the newest) lacks the witness quorum "
                    f"{policy.quorum!r}: {named}")
        report.witnesses.append(f"the newest checkpoint (size {newest}) meets the quorum "
                                f"{policy.quorum!r}: {named}")
        short = sorted(size for size, who in self.signers.items() if not policy.met(who))
        if short:
            sizes = ", ".join(map(str, short[:SHOWN])) + (", …" if len(short) > SHOWN else "")
            report.witnesses.append(f"{len(short)} older checkpoint"
                                    f"{'s' if len(short) > 1 else ''} of "
                                    f"{len(self.signers)} lack the quorum (sizes {sizes}); "
                                    "the newest one vouches for the history before them")
        if events > newest:
            report.warnings.append(f"events {newest}..{events - 1} come after the newest "
                                   "checkpoint: no witness has vouched for them yet")
        return None

    def _named(self, signed: set[str]) -> str:
        unsigned = sorted(set(self.policy.witnesses) - signed)
        return (f"cosigned by {', '.join(sorted(signed)) or 'no witness'}; "
                f"not by {', '.join(unsigned) or 'none missing'}")
