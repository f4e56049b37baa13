"""Write the e-mail test corpus: ``*.eml`` files and ``expectations.json`` (hand-written facts).

Run ``python tests/email_corpus/make_corpus.py``; the output is deterministic (fixed dates,
boundaries and ids), and a test checks the committed files match it.  The expectations are
written here by hand, independent of the parser, from what each client really sends.
Huge attachments are generated at test time instead (see tests/test_email_parse.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build() -> dict[str, tuple[bytes, dict]]:
    """All messages as {name: (raw bytes, expectations)}."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    import corpus_basic
    import corpus_lib
    import corpus_noise
    import corpus_replies

    corpus_lib.CORPUS.clear()
    corpus_basic.build()
    corpus_replies.build()
    corpus_noise.build()
    return dict(corpus_lib.CORPUS)


def main() -> int:
    corpus = build()
    for old in HERE.glob("*.eml"):
        if old.stem not in corpus:
            old.unlink()
    expectations = {}
    for name, (raw, expect) in sorted(corpus.items()):
        (HERE / f"{name}.eml").write_bytes(raw)
        expectations[name] = expect
    (HERE / "expectations.json").write_text(
        json.dumps(expectations, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    )
    print(f"wrote {len(corpus)} messages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
