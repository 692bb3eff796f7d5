"""Two `baton witness serve` processes and a quorum of two, against a real `baton serve`
(and its worker): the log grows and its checkpoints gather both cosignatures; a rewritten
database (triggers dropped, an event edited, chain and Merkle state recomputed, a new
checkpoint signed with Baton's own key) is refused by both witnesses and never served as
the log's head; a fork (two checkpoints of one size shown to different witnesses) gets no
quorum."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from api.cli import DEMO
from api.testbed import add_actors, start
from audit.log import cosignature, merkle, signed_note, witness, witness_policy
from audit.store.deflated import unpack
from tests.cli_here import set_up
from tests.initialised_app import OPEN
from tests.witness_process import start_witness


def _until(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.2)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[dict[str, object]]:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key"), "BATON_CHECKPOINT_EVERY": "3",
           "BATON_WORKER_POLL": "0.1"}
    set_up(env, "init")
    tokens = add_actors(env, DEMO)
    log_vkey = set_up(env, "audit", "public-key").stdout.strip()
    procs = []
    lines = [f"log {log_vkey}"]
    for name in ("w1", "w2"):
        proc, vkey, url = start_witness(tmp_path, name, log_vkey, env)
        procs.append(proc)
        lines.append(f"witness {name} {vkey} {url}")
    lines += ["group both all w1 w2", "quorum both"]
    (tmp_path / "policy").write_text("\n".join(lines) + "\n")
    env["BATON_WITNESS_POLICY"] = str(tmp_path / "policy")
    server, url = start(tmp_path, env)
    procs.append(server)
    try:
        yield {"env": env, "cwd": tmp_path, "url": url, "tokens": tokens,
               "policy": witness_policy.load(tmp_path / "policy"), "log_vkey": log_vkey,
               "witness_urls": [line.split()[-1] for line in lines[1:3]]}
    finally:
        for proc in procs:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()


def _rewrite(path: Path) -> None:
    """What whoever holds the database file could do: drop the guards, edit an event, and
    recompute every leaf, the chain, the stored subtrees and the log head."""
    con = sqlite3.connect(path)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
        con.execute(f'DROP TRIGGER "{name}"')
    rows = [(seq, unpack(body))
            for seq, body in con.execute("SELECT seq, body FROM ledger ORDER BY seq")]
    assert b'"alice"' in rows[2][1]
    rows[2] = (rows[2][0], rows[2][1].replace(b'"alice"', b'"mallory"'))
    chain, rng, nodes = merkle.GENESIS, merkle.CompactRange(), []
    for seq, body in rows:
        leaf = merkle.leaf_hash(body)
        new_chain = merkle.chain_hash(chain, leaf)
        con.execute("UPDATE ledger SET body = ?, chain_hash = ? WHERE seq = ?",
                    (body, new_chain, seq))
        chain = new_chain
        nodes += [(lv, ix, h) for lv, ix, h in rng.append(leaf) if lv >= 4]
    con.execute("DELETE FROM merkle_nodes")
    con.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)
    con.execute("DELETE FROM checkpoints")
    con.execute("UPDATE log_head SET chain_hash = ?, compact_range = ?, checkpoint_size = 0",
                (chain, rng.to_bytes()))
    con.commit()
    con.close()


def test_two_witnesses_a_rewrite_and_a_fork(setup: dict[str, object]) -> None:
    url, env, cwd = str(setup["url"]), setup["env"], setup["cwd"]
    assert isinstance(env, dict) and isinstance(cwd, Path)
    policy = setup["policy"]
    assert isinstance(policy, witness_policy.TrustPolicy)
    tokens = setup["tokens"]
    assert isinstance(tokens, dict)
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    aud = {"Authorization": f"Bearer {tokens['aud']}"}
    for _ in range(4):
        assert requests.post(f"{url}/api/v1/escalations", json=OPEN, headers=alice,
                             timeout=10).status_code == 201
    head = requests.get(f"{url}/api/v1/audit/checkpoint", headers=aud, timeout=10).json()

    # The log grows; its newest checkpoint gathers both cosignatures and is served.
    def served_at_head() -> bool:
        r = requests.get(f"{url}/log/checkpoint", timeout=10)
        return r.status_code == 200 and f"\n{head['size']}\n" in r.text

    _until(served_at_head)
    honest = requests.get(f"{url}/log/checkpoint", timeout=10).text
    assert policy.signed_by(honest) == {"w1", "w2"}
    assert policy.met(policy.signed_by(honest))
    size = head["size"]
    leaves_data = requests.get(f"{url}/log/tile/0/000.p/{size}", timeout=10).content
    honest_leaves = [leaves_data[i:i + 32] for i in range(0, len(leaves_data), 32)]

    # The database is rewritten and a new checkpoint signed with Baton's own key.
    _rewrite(cwd / "baton.db")
    assert requests.post(f"{url}/api/v1/escalations", json=OPEN, headers=alice,
                         timeout=10).status_code == 201
    rewritten = set_up(env, "audit", "checkpoint").stdout
    cp = signed_note.open_note(rewritten, str(setup["log_vkey"]))
    proof = requests.get(f"{url}/api/v1/audit/proof/consistency",
                         params={"from": size, "to": cp.size}, headers=aud,
                         timeout=10).json()["proof"]
    body = witness.request_body(size, [base64.b64decode(p) for p in proof], rewritten)
    witness_urls = setup["witness_urls"]
    assert isinstance(witness_urls, list)
    for w_url in witness_urls:
        r = requests.post(f"{w_url}/add-checkpoint", data=body.encode(), timeout=10)
        assert r.status_code == 422, r.text  # not consistent with what it cosigned
    time.sleep(2)  # the worker has tried too
    assert requests.get(f"{url}/log/checkpoint", timeout=10).status_code == 404, (
        "the honest checkpoints were deleted, and the rewritten one has no quorum")
    for w_url in witness_urls:
        origin_hash = hashlib.sha256(cp.origin.encode()).hexdigest()
        held = requests.get(f"{w_url}/{origin_hash}/checkpoint", timeout=10).text
        assert held.split("\n")[1] == str(size), "the witnesses stand at the honest size"

    # A fork: two checkpoints of one size, each shown to one witness: no quorum.
    key = signed_note.load_private_key(cwd / "signing.key")
    fork = {}
    for which, w_url in zip(("a", "b"), witness_urls, strict=True):
        leaves = [*honest_leaves, merkle.leaf_hash(which.encode())]
        note = signed_note.sign(cp.origin, size + 1, merkle.root_of(leaves), key, cp.origin)
        prf = merkle.consistency_proof(size, size + 1,
                                       lambda a, b, ls=leaves: merkle.root_of(ls[a:b]))
        r = requests.post(f"{w_url}/add-checkpoint",
                          data=witness.request_body(size, prf, note).encode(), timeout=10)
        assert r.status_code == 200, r.text
        fork[which] = note + r.text
    for which, full in fork.items():
        signers = policy.signed_by(full)
        assert len(signers) == 1 and not policy.met(signers), which
    both = fork["a"] + "".join(f"{line}\n" for line in cosignature.lines(fork["b"])[1:])
    assert not policy.met(policy.signed_by(both)), "w2's cosignature is on the other root"
