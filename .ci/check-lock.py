"""Fail when pyproject.toml names a dependency that requirements.lock does not pin.

Runs before `make install` so that a dependency added to pyproject.toml without `make lock`
is caught on a fresh clone instead of surfacing later as an ImportError.
"""

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        wanted.extend(extra)
    lock_text = (ROOT / "requirements.lock").read_text()
    pinned = {normalize(m) for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", lock_text, re.MULTILINE)}
    missing = sorted({normalize(re.split(r"[\s\[<>=!~;(]", req, maxsplit=1)[0]) for req in wanted} - pinned)
    if missing:
        print(
            f"requirements.lock does not pin {', '.join(missing)} (listed in pyproject.toml).\n"
            "Run `make lock` and commit requirements.lock.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
