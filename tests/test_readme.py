"""The pack-format doc's example is a real, valid pack."""

from __future__ import annotations

import re
from pathlib import Path

from bot.packs import summarize, validate_pack_file
from botkit import ROOT


def test_readme_pack_example_validates(tmp_path: Path) -> None:
    readme = (ROOT / "docs" / "pack-format.md").read_text(encoding="utf-8")
    example = re.search(r"```yaml\n(pack: .*?)```", readme, re.DOTALL)
    assert example is not None, "the pack-format doc lost its example"
    text = example.group(1).replace(
        "../seeds/biden-atacms-2024.txt", str(ROOT / "seeds" / "biden-atacms-2024.txt")
    )
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    report = validate_pack_file(path)
    assert [str(p) for p in report.problems] == []
    assert report.pack is not None
    summary = summarize(report.pack)
    assert summary.by_type == {"choice": 3, "truefalse": 1, "short": 1, "number": 1}
