"""The Vietnamese catalogs are complete, and the committed .mo files match their .po sources.

Regenerate and compile (from src/hotro):
  django-admin makemessages -l vi -e html,txt,py --add-location=file --settings hotro.config.settings
  django-admin compilemessages -l vi --settings hotro.config.settings
"""

import ast
import gettext
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "src" / "hotro"
CATALOGS = sorted(PACKAGE_DIR.glob("**/locale/vi/LC_MESSAGES/*.po"))
NAMED = re.compile(r"%\((\w+)\)[sdif]")
BRACES = re.compile(r"\{(\w*)\}")


@dataclass
class Entry:
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self):
        return (self.msgctxt, self.msgid)


def _unquote(text: str) -> str:
    return ast.literal_eval(text)  # PO strings use C escapes, which a Python literal reads alike


def parse_po(path: Path) -> list[Entry]:
    """Active entries of a .po file (obsolete `#~` entries are skipped; the header entry is kept)."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    target = None  # (field name, plural index)
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("#,")):
            continue
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
            continue
        if keyword in ("msgctxt", "msgid") and (current is None or current.msgstr):
            current = Entry(flags=flags, line=number)
            flags = set()
            entries.append(current)
        if keyword.startswith("msgstr"):
            index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
            current.msgstr[index] = _unquote(rest)
            target = ("msgstr", index)
        else:
            setattr(current, keyword, _unquote(rest))
            target = (keyword, None)
    return entries


def _messages(path: Path) -> list[Entry]:
    return [e for e in parse_po(path) if e.msgid]


def test_it_finds_the_vietnamese_catalogs():
    relative = {str(p.relative_to(PACKAGE_DIR)) for p in CATALOGS}
    assert "locale/vi/LC_MESSAGES/django.po" in relative
    assert "inbox/locale/vi/LC_MESSAGES/django.po" in relative
    for path in CATALOGS:
        assert len(_messages(path)) > 10, path


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_it_has_no_untranslated_or_fuzzy_entries(path):
    problems = []
    for entry in _messages(path):
        if "fuzzy" in entry.flags:
            problems.append(f"line {entry.line}: fuzzy: {entry.msgid!r}")
        elif not entry.msgstr or not all(entry.msgstr.values()):
            problems.append(f"line {entry.line}: untranslated: {entry.msgid!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_it_keeps_every_placeholder(path):
    problems = []
    for entry in _messages(path):
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural else [])
        wanted_named = set().union(*(set(NAMED.findall(s)) for s in sources))
        wanted_braces = set().union(*(set(BRACES.findall(s)) for s in sources))
        for text in entry.msgstr.values():
            named, braces = set(NAMED.findall(text)), set(BRACES.findall(text))
            exact = entry.msgid_plural is None
            if (named != wanted_named) if exact else not named <= wanted_named:
                problems.append(f"line {entry.line}: {sorted(named)} vs {sorted(wanted_named)}")
            if braces != wanted_braces and exact:
                problems.append(f"line {entry.line}: {sorted(braces)} vs {sorted(wanted_braces)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_it_ships_a_compiled_catalog_matching_the_po(path):
    mo = path.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run compilemessages"
    with mo.open("rb") as handle:
        compiled = dict(gettext.GNUTranslations(handle)._catalog)
    compiled.pop("", None)  # the header
    expected = {}
    for entry in _messages(path):
        if "fuzzy" in entry.flags or not all(entry.msgstr.values()):
            continue  # msgfmt leaves these out
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[msgid] = entry.msgstr[0]
        else:
            expected |= {(msgid, i): text for i, text in entry.msgstr.items()}
    stale = {k for k in expected.keys() | compiled.keys() if expected.get(k) != compiled.get(k)}
    assert not stale, f"{mo} is out of date with its .po (run compilemessages): {sorted(map(str, stale))[:5]}"


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(PACKAGE_DIR)))
def test_it_passes_msgfmt_format_checks(path, tmp_path):
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        if os.environ.get("HOTRO_REQUIRE_SERVICES", "") in {"1", "true", "yes"}:
            pytest.fail("gettext (msgfmt) is not installed (apt-get install -y gettext)")
        pytest.skip("gettext (msgfmt) is not installed")
    result = subprocess.run(
        [msgfmt, "--check", "-o", str(tmp_path / "django.mo"), str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_it_gives_each_message_one_translation_across_catalogs():
    # Django merges all catalogs into one: the same msgid must not mean two things.
    seen: dict[tuple, tuple[Path, str]] = {}
    conflicts = []
    for path in CATALOGS:
        for entry in _messages(path):
            text = entry.msgstr.get(0, "")
            if entry.key in seen and seen[entry.key][1] != text:
                conflicts.append(f"{entry.msgid!r}: {seen[entry.key]} vs {path}: {text!r}")
            seen.setdefault(entry.key, (path, text))
    assert not conflicts, "\n".join(conflicts)


def test_it_serves_the_catalog_translations_at_runtime():
    checked = 0
    with translation.override("vi"):
        for path in CATALOGS:
            for entry in _messages(path):
                if entry.msgctxt is None and entry.msgid_plural is None:
                    assert translation.gettext(entry.msgid) == entry.msgstr[0], entry.msgid
                    checked += 1
    assert checked > 100
