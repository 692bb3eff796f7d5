"""The log's side of c2sp.org/tlog-witness: send the newest checkpoint to each witness of
the policy (add-checkpoint: old size, consistency proof, checkpoint), follow a 409 to the
size the witness holds, and keep each cosignature that verifies beside the checkpoint."""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.container import utcnow
from audit.log import cosignature, cosignatures, witness
from audit.log.witness_policy import TrustPolicy, Witness
from audit.log.witness_policy import load as load_policy
from audit.log.witnessed_log import WitnessedLog

log = logging.getLogger("baton.witnessing")
RETRY_SECONDS = 30.0  # after a refusal or an unreachable witness
MAX_409 = 3


@dataclass
class Witnessing:
    """One round per call: the newest checkpoint to every witness that lacks it."""

    engine: Any  # the database's engine; its log is read through WitnessedLog
    vkey: Callable[[], str]
    policy: TrustPolicy
    timeout: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _not_before: dict[tuple[str, int], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._log = WitnessedLog(self.engine)

    @classmethod
    def from_path(cls, engine: Any, vkey: Callable[[], str],
                  path: str) -> Witnessing | None:
        """None when no policy file is named (BATON_WITNESS_POLICY empty)."""
        return cls(engine, vkey, load_policy(Path(path))) if path else None

    def step(self) -> dict[str, str]:
        """Send the newest checkpoint where it is missing; what happened, per witness."""
        found = self._log.newest(self.vkey)
        if found is None:
            return {}
        note, size, have = found
        done: dict[str, str] = {}
        for w in self.policy.witnesses.values():
            if w.url is None or cosignatures.cosigner_id(w.cosigner) in have:
                continue
            if self._not_before.get((w.name, size), 0.0) > self.clock():
                continue
            done[w.name] = outcome = self._send(w, note, size)
            if outcome != "cosigned":
                self._not_before[(w.name, size)] = self.clock() + RETRY_SECONDS
                log.warning("witness %s did not cosign size %d: %s", w.name, size, outcome)
        return done

    def _send(self, w: Witness, note: str, size: int) -> str:
        old = self._log.witnessed_size(w.cosigner)
        for _ in range(MAX_409):
            if old > size:
                return f"the witness holds size {old}, beyond this checkpoint"
            proof = self._log.consistency_proof(old, size)
            status, content_type, body = self._post(w, witness.request_body(old, proof, note))
            if status == 409 and content_type.startswith(witness.SIZE_TYPE):
                old = int(body.strip())
                continue
            if status != 200:
                return f"HTTP {status}: {body.strip()[:200]}"
            lines = [line for line in body.split("\n") if line.strip()]
            for line in lines:
                if cosignature.verify(note + line + "\n", w.cosigner) is not None:
                    self._log.keep(size, w.cosigner, line, utcnow())
                    return "cosigned"
            return "no valid cosignature in the answer"
        return "the witness kept answering 409"

    def _post(self, w: Witness, body: str) -> tuple[int, str, str]:
        assert w.url is not None
        req = urllib.request.Request(w.url.rstrip("/") + "/add-checkpoint",
                                     data=body.encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:  # noqa: S310
                return r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Content-Type", ""), exc.read().decode(
                errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            return 0, "", f"unreachable: {exc}"
