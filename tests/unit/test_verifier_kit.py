"""The offline verifier runs where docs/auditing.md says it does: the files its `tar` line
packs, unpacked on their own, verify bundles of both formats with Python and
`cryptography` alone (no site-packages: not Baton's editable install, not msgspec or
orjson), and with msgspec and orjson beside them, as Baton installs them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import cryptography
import pytest

from tests.unit.test_verify_batch import bundle, policy_applied, usual
from tests.unit.test_verify_speed import VKEY

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "v1_export"
PACKAGES = Path(cryptography.__file__).parents[1]
# What may be loaded besides the standard library: cryptography (and what it loads), and
# the accelerators the verifier uses when it finds them.
ALLOWED = {"audit", "cryptography", "_cffi_backend", "_openssl", "msgspec", "orjson",
           "typing_extensions", "__main__", "__mp_main__",
           "_sysconfigdata__linux_x86_64-linux-gnu"}


def _tar_line() -> list[str]:
    text = (ROOT / "docs" / "auditing.md").read_text(encoding="utf-8")
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
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(where, filter="data")
        else:
            tar.extractall(where)  # noqa: S202 (our own archive, just written)
    return where


@pytest.fixture(scope="module")
def cryptography_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding cryptography and what it loads (cffi), nothing else."""
    where = tmp_path_factory.mktemp("cryptography")
    for entry in PACKAGES.iterdir():
        if entry.name in ("cryptography", "cffi") or entry.name.startswith("_cffi_backend"):
            (where / entry.name).symlink_to(entry)
    return where


@pytest.fixture(params=["cryptography alone", "with the accelerators"])
def packages(request: pytest.FixtureRequest, cryptography_alone: Path) -> Path:
    return cryptography_alone if request.param == "cryptography alone" else PACKAGES


@pytest.fixture(scope="module")
def format2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A format 2 bundle (what `baton audit export` writes), 200 events with content."""
    where = tmp_path_factory.mktemp("format2")
    lines = bundle([(policy_applied(), [])] + [usual(seq) for seq in range(1, 200)])
    (where / "bundle.jsonl").write_text("".join(lines), encoding="utf-8")
    (where / "public_key.txt").write_text(VKEY + "\n", encoding="utf-8")
    return where


def bare(kit: Path, packages: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Python without its site (no .pth: Baton's editable install is not on the path),
    with the kit and `packages` only, from a folder that is neither the kit nor the
    checkout; the environment as it is, but for Python's own variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(kit), str(packages)])
    return subprocess.run([sys.executable, "-S", *args], capture_output=True, text=True,
                          cwd=kit.parent, env=env)


def verify(kit: Path, packages: Path, where: Path, bundle_name: str,
           module: str = "audit.verifier") -> subprocess.CompletedProcess[str]:
    return bare(kit, packages, "-m", module, str(where / bundle_name),
                "--public-key", str(where / "public_key.txt"))


def test_the_packed_verifier_verifies_both_formats_alone(kit: Path, packages: Path,
                                                         format2: Path) -> None:
    for where, bundle_name, said in ((DATA, "bundle.jsonl", "OK: 18 events"),
                                     (DATA, "bundle.bin", "OK: 18 events"),
                                     (format2, "bundle.jsonl", "OK: 200 events")):
        out = verify(kit, packages, where, bundle_name)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith(said), out.stdout
    # the former name is packed too
    out = verify(kit, packages, DATA, "bundle.jsonl", module="audit.verify")
    assert out.returncode == 0 and out.stdout.startswith("OK: 18 events"), out


def test_the_packed_verifier_names_an_edit(kit: Path, packages: Path, format2: Path,
                                           tmp_path: Path) -> None:
    text = (DATA / "bundle.jsonl").read_text(encoding="utf-8")
    assert '"text":"Grace Hopper"' in text
    (tmp_path / "public_key.txt").write_text((DATA / "public_key.txt").read_text())
    (tmp_path / "v1.jsonl").write_text(text.replace("Grace", "Grade", 1), encoding="utf-8")
    out = verify(kit, packages, tmp_path, "v1.jsonl")
    assert out.returncode == 1, out
    assert out.stdout.startswith("FAILED: seq 9 field customer_name: content does not match"), \
        out.stdout
    lines = (format2 / "bundle.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("[101,"))
    lines[at] = lines[at].replace('"over"]', '"ovr"]', 1)
    (tmp_path / "public_key.txt").write_text(VKEY + "\n")
    (tmp_path / "v2.jsonl").write_text("".join(lines), encoding="utf-8")
    out = verify(kit, packages, tmp_path, "v2.jsonl")
    assert out.returncode == 1, out
    assert out.stdout.startswith("FAILED: seq 101 field context: content does not match"), \
        out.stdout


def test_the_pack_loads_nothing_of_baton_s_outside_it(kit: Path, packages: Path) -> None:
    code = ("import sys, audit.verify, audit.verifier.verify, audit.verifier.verify_parallel, "
            "audit.verifier.access_report, audit.verifier.proof_check\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} - "
            "set(sys.stdlib_module_names)))\n"
            "print(sorted({m.__file__ for n, m in sys.modules.items() "
            "if n.startswith('audit') and getattr(m, '__file__', None)}))")
    out = bare(kit, packages, "-c", code)
    assert out.returncode == 0, out.stderr
    loaded, files = (eval(line) for line in out.stdout.splitlines())  # noqa: S307
    assert set(loaded) <= ALLOWED, set(loaded) - ALLOWED
    if packages != PACKAGES:
        assert not {"msgspec", "orjson"} & set(loaded)
    assert all(f.startswith(str(kit)) for f in files), files
