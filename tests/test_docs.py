"""The README and docs/ as a guide: every relative link resolves, and the README stays short."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def guides() -> list[Path]:
    cards = sorted((ROOT / "pretrained").glob("*/README.md"))
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *cards]


def test_every_relative_link_resolves():
    broken = []
    for page in guides():
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://", "mailto:", "#")):
                continue
            path = target.split("#", 1)[0]
            if not (page.parent / path).exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_readme_is_a_short_guide_without_work_history():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert not re.search(r"\bissue \d+|\bsession\b", text, re.IGNORECASE)
    for page in (ROOT / "docs").rglob("*.md"):
        assert not re.search(r"\bissue \d+", page.read_text(encoding="utf-8"), re.IGNORECASE), page
