"""The Coverage tables of the chapter pages (issue 15): parsed as data, every link a ledger claim, every counted
claim reachable from the result it tests."""
import re

import pytest

from lora_companion import coverage, runner
from lora_companion.book import CHAPTERS
from lora_companion.claims import COUNTED

PAPERS = [c for c in CHAPTERS if c != "preliminaries"]


@pytest.fixture(scope="module")
def ledger():
    return runner.committed_claims()


def test_rows_parse_links_and_math_with_bars(tmp_path):
    (tmp_path / "ch").mkdir()
    (tmp_path / "ch" / "index.md").write_text(
        "# Ch\n\n## Coverage\n\n| result | from | claims and verdicts |\n|---|---|---|\n"
        "| Thm 1 ($\\|X\\|_* \\le 1$) | text | {ref}`a-b <claim-a-b>` {glue}`nb.ipynb::a-b-verdict`; "
        "{ref}`c <claim-c>` |\n| Fig. 2 | text | **not covered**: paper scale |\n\n## Next\n\n| x | y | z |\n")
    found = coverage.rows("ch", tmp_path)
    assert [(r.result, r.claims, r.covered) for r in found] == [
        ("Thm 1 ($\\|X\\|_* \\le 1$)", ("a-b", "c"), True), ("Fig. 2", (), False)]
    claims = [{"id": "a-b", "chapter": "ch", "kind": "sanity"}, {"id": "c", "chapter": "ch", "kind": "theorem"}]
    s = coverage.summary("ch", claims, tmp_path)
    assert (s["results"], s["covered"], s["other"], s["not_covered"]) == (2, 1, 0, ["Fig. 2"])
    assert s["kinds"] == {"theorem": 1, "empirical": 0, "sanity": 1, "extension": 0}
    s = coverage.summary("ch", claims[:1], tmp_path)
    assert (s["covered"], s["other"]) == (0, 1)


def test_a_malformed_row_names_the_page(tmp_path):
    (tmp_path / "ch").mkdir()
    (tmp_path / "ch" / "index.md").write_text("## Coverage\n\n| a | b | c |\n|---|---|---|\n| only | two |\n")
    with pytest.raises(ValueError, match="index.md: a Coverage row needs 3 cells"):
        coverage.rows("ch", tmp_path)


@pytest.mark.parametrize("chapter", PAPERS)
def test_every_chapter_has_a_coverage_table_linking_ledger_claims(chapter, ledger):
    rows = coverage.rows(chapter)
    assert rows, f"{chapter}/index.md has no Coverage table"
    ids = {c["id"] for c in ledger}
    linked = {i for r in rows for i in r.claims}
    assert linked <= ids, f"{chapter}: Coverage links unknown claims {sorted(linked - ids)}"
    text = (runner.BOOK / chapter / "index.md").read_text().split(coverage.HEADING)[1].split("\n## ")[0]
    bare = {m for m in re.findall(r"(?<![<{])`([a-z0-9-]+)`", text) if m in ids} - linked
    assert not bare, f"{chapter}: Coverage names claims without linking them: {sorted(bare)}"


@pytest.mark.parametrize("chapter", PAPERS)
def test_every_counted_claim_is_linked_from_the_result_it_tests(chapter, ledger):
    linked = {i for r in coverage.rows(chapter) for i in r.claims}
    missing = [c["id"] for c in ledger if c["chapter"] == chapter and c.get("kind") in COUNTED
               and c["id"] not in linked]
    assert not missing, f"{chapter}: theorem/empirical claims missing from the Coverage table: {missing}"
