"""The offline verifier runs where docs/auditing.md says it does: the files its `tar` line
packs, unpacked on their own, verify a bundle with Python and `cryptography` only (no
site-packages of Baton's, no Baton module outside the pack)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import cryptography
import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "v1_export"
# What may be loaded besides the standard library: cryptography (and what it loads), and
# the accelerators the verifier uses when it finds them.
ALLOWED = {"audit", "cryptography", "_cffi_backend", "_openssl", "msgspec", "orjson",
           "typing_extensions", "__main__", "__mp_main__",
           "_sysconfigdata__linux_x86_64-linux-gnu"}


def _tar_line() -> list[str]:
    text = (ROOT / "docs" / "auditing.md").read_text()
    found = re.search(r"^tar -cf \S+ (.+)$", text, re.M)
    assert found, "docs/auditing.md shows how to pack the verifier"
    return shlex.split(found.group(1))


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the doc's line packs, unpacked in a folder of their own."""
    packed = tmp_path_factory.mktemp("packed") / "baton-verifier.tar"
    with tarfile.open(packed, "w") as tar:
        for pattern in _tar_line():
            paths = sorted(ROOT.glob(pattern))
            assert paths, f"{pattern} packs nothing"
            for path in paths:
                tar.add(path, arcname=str(path.relative_to(ROOT)))
    where = tmp_path_factory.mktemp("kit")
    with tarfile.open(packed) as tar:
        tar.extractall(where, filter="data")
    return where


def bare(kit: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python without its site (no .pth: Baton's editable install is not on the path) and
    with cryptography's folder, from a folder that is neither the kit nor the checkout."""
    packages = Path(cryptography.__file__).parents[1]
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True,
                          cwd=kit.parent, env={"PYTHONPATH": f"{kit}:{packages}"})


def test_the_packed_verifier_verifies_a_bundle_alone(kit: Path) -> None:
    for bundle in ("bundle.jsonl", "bundle.bin"):
        out = bare(kit, "-m", "audit.verifier", str(DATA / bundle),
                   "--public-key", str(DATA / "public_key.txt"))
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("OK: 18 events"), out.stdout


def test_the_packed_verifier_names_an_edit(kit: Path, tmp_path: Path) -> None:
    lines = (DATA / "bundle.jsonl").read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if '"text":"Grace Hopper"' in line)
    edited = tmp_path / "edited.jsonl"
    edited.write_text("".join(lines[:at] + [lines[at].replace("Grace", "Grade", 1)]
                              + lines[at + 1:]))
    out = bare(kit, "-m", "audit.verifier", str(edited),
               "--public-key", str(DATA / "public_key.txt"))
    assert out.returncode == 1, out
    assert out.stdout.startswith("FAILED: seq 9 field customer_name: content does not match"), \
        out.stdout


def test_the_pack_loads_nothing_of_baton_s_outside_it(kit: Path) -> None:
    code = ("import sys, audit.verifier.verify, audit.verifier.verify_parallel, "
            "audit.verifier.access_report, audit.verifier.proof_check\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} - "
            "set(sys.stdlib_module_names)))\n"
            "print(sorted({m.__file__ for n, m in sys.modules.items() "
            "if n.startswith('audit') and getattr(m, '__file__', None)}))")
    out = bare(kit, "-c", code)
    assert out.returncode == 0, out.stderr
    loaded, files = (eval(line) for line in out.stdout.splitlines())  # noqa: S307
    assert set(loaded) <= ALLOWED, set(loaded) - ALLOWED
    assert all(f.startswith(str(kit)) for f in files), files
