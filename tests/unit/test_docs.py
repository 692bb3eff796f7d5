"""The README and docs/ stay true: the diagram and the policy table, the commands they show,
every relative link, every setting the code reads, and the layout they describe."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import click

from api.cli import main
from workflow import policy_loader
from workflow.lifecycle import lifecycle

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LIFECYCLE = ROOT / "docs" / "lifecycle.md"
PAGES = [README, ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n.*?^```[ \t]*$", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
# `baton` as a command: at the start, after a space, a bracket or `.venv/bin/`; never
# baton.local, baton_app or baton-signing.key (no blank after the word).
COMMAND = re.compile(r"(?:^|(?<=[\s(])|(?<=bin/))baton[ \t]+([^\n#|;&>)]*)", re.M)
COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.M)
SETTING = re.compile(r"\bBATON_[A-Z][A-Z0-9_]*")


def _prose(text: str) -> str:
    """The markdown without its fenced blocks and inline code, where links are text."""
    return INLINE.sub("", FENCE.sub("", text))


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, blanks as hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor in a markdown text (the second of a name gets -1, …)."""
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", FENCE.sub("", text), re.M):
        slug = _slug(heading)
        out.add(f"{slug}-{seen[slug]}" if slug in seen else slug)
        seen[slug] = seen.get(slug, 0) + 1
    return out


def broken_links(page: Path) -> list[str]:
    """The relative links of a page whose file, or #anchor within a markdown file, is
    not there."""
    broken = []
    for target in LINK.findall(_prose(page.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: - not ours to check
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(target)
        elif anchor and (file.suffix != ".md" or anchor not in anchors(file.read_text())):
            broken.append(target)
    return broken


def command_lines(text: str) -> list[str]:
    """Every `baton …` command line shown: in code blocks (continuation lines joined,
    comments dropped) and in inline code (which may wrap), from `baton` to a comment, a
    pipe or a redirection."""
    code = [COMMENT.sub("", block.replace("\\\n", " ")) for block in FENCE.findall(text)]
    code += [span.replace("\n", " ") for span in INLINE.findall(FENCE.sub("", text))]
    return [" ".join(found.split()) for block in code for found in COMMAND.findall(block)]


def _option(command: click.Command, name: str) -> click.Parameter | None:
    return next((p for p in command.params if name in getattr(p, "opts", ())), None)


def unknown_command(line: str) -> str | None:
    """Why `baton LINE` names no command of api.cli (or an option its command lacks);
    None when it does. Placeholders (COMMAND, …) at a group stop the walk."""
    command: click.Command = main
    words = line.split()
    while isinstance(command, click.Group) and words:
        word = words.pop(0)
        if word.startswith("--"):
            option = _option(command, word)
            if option is None:
                return f"baton {line}: no option {word} before the command"
            if not getattr(option, "is_flag", False) and words:
                words.pop(0)
        elif word in command.commands:
            command = command.commands[word]
        elif word.isupper() or word in ("…", "..."):
            return None
        else:
            return f"baton {line}: no command {word!r} (there are {sorted(command.commands)})"
    if isinstance(command, click.Group):
        return None
    for name in re.findall(r"(?<![\w-])--[a-z][a-z-]*", " ".join(words)):
        if name != "--help" and _option(command, name) is None:
            return f"baton {line}: {command.name} has no option {name}"
    return None


def test_readme_is_read_in_five_minutes() -> None:
    assert len(README.read_text().splitlines()) <= 200


def test_lifecycle_diagram_is_the_generated_one() -> None:
    block = re.search(r"```mermaid\n(.*?)```", LIFECYCLE.read_text(), re.S)
    assert block is not None
    assert block.group(1) == lifecycle(policy_loader.default().max_tier).mermaid()


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = re.findall(r"```sh\n(.*?)\n```", README.read_text(), re.S)
    assert commands[1] == ".ci/test"
    run = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert run[-1] == "exec .ci/test"
    assert commands[0].endswith(".venv/bin/baton demo")


def test_policy_table_matches_the_default_policy() -> None:
    policy = policy_loader.default()
    rows = re.findall(r"^\| (\w+) \| (\d|–) \| ([\d,]+|unlimited|–) \| (yes|no) \|",
                      LIFECYCLE.read_text(), re.M)
    assert [r[0] for r in rows] == list(policy.roles)
    for name, tier, limit, governance in rows:
        role = policy.roles[name]
        assert (str(role.tier) if role.tier is not None else "–") == tier, name
        assert role.governance == (governance == "yes"), name
        if limit == "unlimited":
            assert role.limit == policy_loader.UNLIMITED
        elif limit != "–":
            assert role.limit == Decimal(limit.replace(",", "")), name


def test_every_relative_link_resolves() -> None:
    assert len(PAGES) > 5
    assert {str(p.relative_to(ROOT)): broken_links(p) for p in PAGES if broken_links(p)} == {}


def test_the_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# The customer's side, and more\n")
    page = tmp_path / "page.md"
    page.write_text("## Here\n[a](other.md#the-customers-side-and-more) [b](#here) "
                    "[c](https://example.com/x) `[d](gone.md)`\n```\n[e](gone.md)\n```\n"
                    "[f](gone.md) [g](other.md#nowhere) [h](#there) ![i](pic.png)\n")
    assert broken_links(page) == ["gone.md", "other.md#nowhere", "#there", "pic.png"]


def test_every_baton_command_shown_exists() -> None:
    shown = {line for page in PAGES for line in command_lines(page.read_text())}
    assert {"demo", "init", "serve --workers 4", "audit export -o export.jsonl"} <= shown
    assert [why for line in sorted(shown) if (why := unknown_command(line))] == []


def test_the_command_check_finds_what_does_not_exist() -> None:
    text = ("Run `baton audit export -o F`, `TOKEN=$(baton actors add a\n--role agent)`.\n"
            "```sh\nBATON_DATABASE_URL=postgresql://o@db/baton baton init \\\n  --policy p\n"
            ".venv/bin/baton demo > out  # baton nothing\n```\n"
            "`baton.local/ledger`, `baton_app` and `baton-signing.key` are no commands.\n")
    assert command_lines(text) == ["init --policy p", "demo", "audit export -o F",
                                   "actors add a --role agent"]
    assert unknown_command("audit export -o F") is None
    assert unknown_command("--database-url URL COMMAND …") is None
    assert unknown_command("audit exprt") is not None
    assert unknown_command("serve --wrokers 4") is not None
    assert unknown_command("--no-such-flag demo") is not None


def test_every_setting_the_code_reads_is_documented() -> None:
    read = {name for folder in ("api", "audit", "workflow")
            for file in (ROOT / folder).rglob("*.py")
            for name in SETTING.findall(file.read_text())}
    read |= {name for file in (ROOT / ".ci").iterdir()
             for name in SETTING.findall(file.read_text())}
    documented = {name for page in (ROOT / "docs").glob("*.md")
                  for name in SETTING.findall(page.read_text())}
    assert {"BATON_DATABASE_URL", "BATON_TRUST_PROXY", "BATON_REQUIRE_POSTGRES"} <= read
    assert sorted(read - documented) == []


def _named_files(cell: str) -> list[str]:
    """The files and folders a table cell names in code: `x.py`, `a/b/`, `cli*.py`."""
    return [name for name in INLINE.findall(cell)
            if re.fullmatch(r"[\w.*/-]+", name) and ("." in name or name.endswith("/"))
            and not name.startswith(("-", "/"))]


def test_the_layouts_name_files_that_exist() -> None:
    text = README.read_text()
    table = text[text.index("## Layout"):text.index("## Read next")]
    rows = re.findall(r"^\| `([^`]+)` \| (.+) \|$", table, re.M)
    folders = {folder for folder, _ in rows}
    on_disk = {f"{p.relative_to(ROOT)}/" for p in [*ROOT.glob("*/"), *ROOT.glob("*/*/")]
               if p.is_dir() and not p.name.startswith(("_", ".")) and p.name != "results"}
    assert {"workflow/", "audit/log/", "audit/store/", "audit/reads/", "audit/verifier/",
            "api/views/", "api/ui/", "tests/", "bench/", "docs/"} <= folders
    missing_rows = {d for d in on_disk if d.split("/")[0] in ("api", "audit", "workflow")
                    and d not in folders}
    assert sorted(missing_rows) == []
    missing = [f"{folder}{name}" for folder, cell in rows for name in _named_files(cell)
               if not list((ROOT / folder).glob(name))]
    homes = (ROOT / "docs" / "layout.md").read_text()
    missing += [name for name in _named_files(homes)
                if "/" in name.rstrip("/") and not list(ROOT.glob(name))]
    assert missing == []
