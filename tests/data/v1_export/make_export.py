"""How tests/data/v1_export was made (run once, with the code of format 1, commit a765e63):

    PYTHONPATH=. python tests/data/v1_export/make_export.py tests/data/v1_export

Two escalations through their lifecycle, one customer's content erased, checkpoints
signed every 5 events and at the end; the JSON Lines bundle, the binary bundle and the
public key are written to the directory given. Kept as made: re-running it makes a
different key, salts and bytes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from audit.reads.export import write_binary_bundle, write_bundle
from tests.integration.conftest import make_ledger
from tests.unit.fakes import DEMO_ACTORS
from workflow import erasure

ORIGIN = "baton.test/ledger"


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "v1.db"
        led = make_ledger(f"sqlite:///{path}", path)
        led.lifecycle("esc-a")
        led.lifecycle("esc-b", customer={"id": "cust-7", "name": "Grace Hopper"})
        with led.uow() as uow:
            erasure.erase_customer(uow=uow, actor=DEMO_ACTORS["root"],
                                   customer_id="cust-42", policy=led.policy,
                                   now=led.tick())
            uow.commit()
        with led.uow() as uow:
            uow.checkpoint(led.tick(), force=True)
            uow.commit()
        with led.engine.connect() as conn:
            with open(out / "bundle.jsonl", "w", encoding="utf-8") as fh:
                write_bundle(conn, fh, ORIGIN, led.signer.vkey, led.now)
            with open(out / "bundle.bin", "wb") as bh:
                write_binary_bundle(conn, bh, ORIGIN, led.signer.vkey, led.now)
        (out / "public_key.txt").write_text(led.signer.vkey + "\n", encoding="utf-8")
        led.engine.dispose()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
