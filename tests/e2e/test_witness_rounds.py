"""Witnessing rounds of real `baton worker --once` processes against real `baton witness
serve` processes (issue 19): a witness that stands further on than Baton's record of what
it sent answers 409 with its size, and the worker retries from that size with a
consistency proof from it and keeps the cosignature; and a database rewritten and
re-signed with Baton's own key fails the offline verifier with the witness policy,
naming the witnesses that did not cosign, while the honest database's export passes.

Each witness here sits behind a recording pass-through (it forwards every add-checkpoint
request unchanged and keeps what was asked and answered), so the test reads the sizes
the worker sent without changing what the witness sees."""

from __future__ import annotations

import base64
import hashlib
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from api.cli import DEMO
from api.testbed import BATON, add_actors, start
from audit.log import signed_note, witness, witness_policy
from tests.cli_here import set_up
from tests.e2e.test_witnesses import _rewrite, _until
from tests.initialised_app import OPEN
from tests.witness_process import start_witness


@dataclass(frozen=True)
class Asked:
    """One add-checkpoint request as the witness received it, and its answer."""

    old: int
    size: int
    proof: list[bytes]
    status: int
    answer: str


@dataclass
class Recorder:
    """A pass-through in front of one witness that records each add-checkpoint."""

    target: str
    asked: list[Asked] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def serve(self) -> str:
        """Start forwarding; the URL to name in the policy instead of the witness's."""
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                r = requests.post(recorder.target + self.path, data=body, timeout=10)
                req = witness.parse_request(body.decode())
                size = int(req.note.split("\n")[1])
                recorder.asked.append(Asked(req.old, size, req.proof, r.status_code,
                                            r.text))
                self.send_response(r.status_code)
                self.send_header("Content-Type", r.headers["Content-Type"])
                self.send_header("Content-Length", str(len(r.content)))
                self.end_headers()
                self.wfile.write(r.content)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Site:
    """Baton (a server, with or without its worker), two witnesses and a policy."""

    env: dict[str, str]
    cwd: Path
    url: str
    tokens: dict[str, str]
    log_vkey: str
    witness_urls: dict[str, str]
    recorders: dict[str, Recorder]
    policy: witness_policy.TrustPolicy

    def baton(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*BATON, *args], cwd=self.cwd, env=self.env, text=True,
                              capture_output=True, check=check, timeout=120)

    def open_escalations(self, count: int) -> None:
        alice = {"Authorization": f"Bearer {self.tokens['alice']}"}
        for _ in range(count):
            r = requests.post(f"{self.url}/api/v1/escalations", json=OPEN, headers=alice,
                              timeout=10)
            assert r.status_code == 201, r.text

    def checkpoint(self) -> tuple[str, int]:
        """Sign a checkpoint of the whole log now (`baton audit checkpoint`)."""
        note = set_up(self.env, "audit", "checkpoint").stdout
        return note, signed_note.open_note(note, self.log_vkey).size

    def consistency(self, old: int, new: int) -> list[bytes]:
        aud = {"Authorization": f"Bearer {self.tokens['aud']}"}
        r = requests.get(f"{self.url}/api/v1/audit/proof/consistency",
                         params={"from": old, "to": new}, headers=aud, timeout=10)
        assert r.status_code == 200, r.text
        return [base64.b64decode(p) for p in r.json()["proof"]]

    def held_by(self, name: str) -> str:
        """The checkpoint a witness holds for Baton's log, with its cosignature."""
        origin = self.log_vkey.split("+", 1)[0]
        digest = hashlib.sha256(origin.encode()).hexdigest()
        r = requests.get(f"{self.witness_urls[name]}/{digest}/checkpoint", timeout=10)
        assert r.status_code == 200, r.text
        return r.text

    def stored_cosignatures(self, size: int) -> dict[str, str]:
        """Cosignature lines Baton keeps for the checkpoint of `size`, by the policy's
        name of their cosigner."""
        db = self.env["BATON_DATABASE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(db) as con:
            rows = con.execute("SELECT cosigner, line FROM cosignatures WHERE size = ?",
                               (size,)).fetchall()
        names = {f"{w.cosigner.name}+{w.cosigner.key_id.hex()}": name
                 for name, w in self.policy.witnesses.items()}
        return {names[cosigner]: line for cosigner, line in rows}


def _site(tmp_path: Path, *, worker: bool, checkpoint_every: int) -> Iterator[Site]:
    env = {**os.environ, "BATON_DATABASE_URL": f"sqlite:///{tmp_path / 'baton.db'}",
           "BATON_SIGNING_KEY": str(tmp_path / "signing.key"),
           "BATON_CHECKPOINT_EVERY": str(checkpoint_every), "BATON_WORKER_POLL": "0.1"}
    set_up(env, "init")
    tokens = add_actors(env, DEMO)
    log_vkey = set_up(env, "audit", "public-key").stdout.strip()
    procs: list[subprocess.Popen[str] | subprocess.Popen[bytes]] = []
    recorders: dict[str, Recorder] = {}
    witness_urls: dict[str, str] = {}
    lines = [f"log {log_vkey}"]
    try:
        for name in ("w1", "w2"):
            proc, vkey, w_url = start_witness(tmp_path, name, log_vkey, env)
            procs.append(proc)
            witness_urls[name] = w_url
            recorders[name] = Recorder(w_url)
            lines.append(f"witness {name} {vkey} {recorders[name].serve()}")
        lines += ["group both all w1 w2", "quorum both"]
        (tmp_path / "policy").write_text("\n".join(lines) + "\n")
        (tmp_path / "log.vkey").write_text(log_vkey + "\n")
        env["BATON_WITNESS_POLICY"] = str(tmp_path / "policy")
        server, url = start(tmp_path, env, worker=worker)
        procs.append(server)
        yield Site(env, tmp_path, url, tokens, log_vkey, witness_urls, recorders,
                   witness_policy.load(tmp_path / "policy"))
    finally:
        for recorder in recorders.values():
            recorder.close()
        for running in procs:
            os.killpg(running.pid, 15)
            running.wait(timeout=30)
            if running.stdout is not None:
                running.stdout.close()


@pytest.fixture
def quiet(tmp_path: Path) -> Iterator[Site]:
    """No worker beside the server, and no checkpoint but those the test signs: every
    witnessing round is a `baton worker --once` the test runs."""
    yield from _site(tmp_path, worker=False, checkpoint_every=100_000)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Site]:
    """The server with its worker, signing a checkpoint every 3 events."""
    yield from _site(tmp_path, worker=True, checkpoint_every=3)


def _asked(site: Site, name: str) -> list[tuple[int, int, int, str]]:
    return [(a.old, a.size, a.status, a.answer.strip() if a.status == 409 else "")
            for a in site.recorders[name].asked]


def test_the_worker_follows_a_witness_409_to_its_size(quiet: Site) -> None:
    site = quiet
    site.open_escalations(2)
    _, a = site.checkpoint()
    first = site.baton("worker", "--once")
    assert "did not cosign" not in first.stderr, first.stderr
    assert _asked(site, "w1") == _asked(site, "w2") == [(0, a, 200, "")]
    assert set(site.stored_cosignatures(a)) == {"w1", "w2"}

    # w1 cosigns a newer checkpoint, shown to it as a worker would show it, but Baton's
    # record of that cosignature is lost (a worker killed between the answer and its
    # commit): Baton believes w1 stands at size a, w1 stands at size b.
    site.open_escalations(2)
    note_b, b = site.checkpoint()
    r = requests.post(f"{site.witness_urls['w1']}/add-checkpoint",
                      data=witness.request_body(a, site.consistency(a, b), note_b).encode(),
                      timeout=10)
    assert r.status_code == 200, r.text
    assert f"\n{b}\n" in site.held_by("w1")
    assert site.stored_cosignatures(b) == {}

    site.open_escalations(2)
    note_c, c = site.checkpoint()
    assert a < b < c
    second = site.baton("worker", "--once")
    assert "did not cosign" not in second.stderr, second.stderr

    # w1: asked from where Baton believed it stood, answered 409 with its own size, asked
    # again from that size with the consistency proof from it. w2 was where Baton
    # believed: one request.
    assert _asked(site, "w1") == [(0, a, 200, ""), (a, c, 409, str(b)), (b, c, 200, "")]
    assert _asked(site, "w2") == [(0, a, 200, ""), (a, c, 200, "")]
    retry = site.recorders["w1"].asked[-1]
    assert retry.proof == site.consistency(b, c) and retry.proof
    assert retry.proof != site.consistency(a, c)
    assert site.recorders["w1"].asked[1].proof == site.consistency(a, c)

    # The cosignature is kept: it is the line w1 answered and now holds, it verifies
    # against w1's key, and the log's head carries it.
    kept = site.stored_cosignatures(c)
    assert set(kept) == {"w1", "w2"}
    for name in ("w1", "w2"):
        assert kept[name] + "\n" == site.recorders[name].asked[-1].answer
        held = site.held_by(name)
        assert f"\n{c}\n" in held and held.endswith(kept[name] + "\n")
        assert site.policy.signed_by(note_c + kept[name] + "\n") == {name}
    served = requests.get(f"{site.url}/log/checkpoint", timeout=10)
    assert served.status_code == 200
    assert served.text.startswith(note_c)
    assert site.policy.signed_by(served.text) == {"w1", "w2"}

    # Nothing left to send: a further round asks no one.
    third = site.baton("worker", "--once")
    assert "did not cosign" not in third.stderr, third.stderr
    assert len(site.recorders["w1"].asked) == 3 and len(site.recorders["w2"].asked) == 2


def test_a_witness_that_cosigned_the_very_checkpoint_is_asked_again_from_it(
        quiet: Site) -> None:
    site = quiet
    site.open_escalations(2)
    note, size = site.checkpoint()
    # w1 cosigned this very checkpoint; Baton has no record of it.
    r = requests.post(f"{site.witness_urls['w1']}/add-checkpoint",
                      data=witness.request_body(0, [], note).encode(), timeout=10)
    assert r.status_code == 200, r.text
    done = site.baton("worker", "--once")
    assert "did not cosign" not in done.stderr, done.stderr
    assert _asked(site, "w1") == [(0, size, 409, str(size)), (size, size, 200, "")]
    assert site.recorders["w1"].asked[-1].proof == []
    assert set(site.stored_cosignatures(size)) == {"w1", "w2"}
    assert site.policy.signed_by(
        requests.get(f"{site.url}/log/checkpoint", timeout=10).text) == {"w1", "w2"}


def _verify(site: Site, bundle: Path, *policy: str) -> subprocess.CompletedProcess[str]:
    """The offline verifier, as an auditor runs it."""
    return subprocess.run([sys.executable, "-m", "audit.verify", str(bundle),
                           "--public-key", str(site.cwd / "log.vkey"), *policy],
                          cwd=site.cwd, text=True, capture_output=True, timeout=120)


def test_a_rewritten_database_fails_the_offline_verifier_with_the_policy(live: Site) -> None:
    site = live
    policy = ["--witness-policy", str(site.cwd / "policy")]
    site.open_escalations(4)
    aud = {"Authorization": f"Bearer {site.tokens['aud']}"}
    head = requests.get(f"{site.url}/api/v1/audit/checkpoint", headers=aud,
                        timeout=10).json()["size"]

    def served_at_head() -> bool:
        r = requests.get(f"{site.url}/log/checkpoint", timeout=10)
        return r.status_code == 200 and f"\n{head}\n" in r.text

    _until(served_at_head)

    # The honest database's export passes with the policy, both witnesses named.
    site.baton("audit", "export", "-o", "honest.jsonl")
    honest = _verify(site, site.cwd / "honest.jsonl", *policy)
    assert honest.returncode == 0, honest.stdout + honest.stderr
    assert honest.stdout.startswith("OK: ")
    assert (f"witnesses: the newest checkpoint (size {head}) meets the quorum 'both': "
            "cosigned by w1, w2; not by none missing") in honest.stdout

    # Rewritten and re-signed with Baton's own key; the witnesses are asked and refuse.
    _rewrite(site.cwd / "baton.db")
    site.open_escalations(1)
    _, size = site.checkpoint()
    assert size > head
    round_ = site.baton("worker", "--once")
    for name in ("w1", "w2"):
        assert f"witness {name} did not cosign size {size}: HTTP 422" in round_.stderr, (
            round_.stderr)
        refused = [a for a in site.recorders[name].asked if a.size == size]
        assert refused and all(a.status == 422 for a in refused)
        assert f"\n{head}\n" in site.held_by(name)

    site.baton("audit", "export", "-o", "rewritten.jsonl")
    bundle = site.cwd / "rewritten.jsonl"
    assert oct(bundle.stat().st_mode & 0o777) == "0o600"
    failed = _verify(site, bundle, *policy)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert failed.stdout.startswith(
        f"FAILED: checkpoint at size {size} (the newest) lacks the witness quorum 'both': "
        "cosigned by no witness; not by w1, w2"), failed.stdout
    # The log's own signature alone cannot tell: without the policy the rewrite passes.
    alone = _verify(site, bundle)
    assert alone.returncode == 0, alone.stdout + alone.stderr
