"""The operator documents' links resolve (file and #anchor), and so does every link to an ADR from any document;
every ADR has its three parts and is linked from each document its index says relies on it."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADR_DIR = ROOT / "docs" / "adr"
ADRS = sorted(ADR_DIR.glob("[0-9][0-9][0-9][0-9]-*.md"))
DOCS = sorted({*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md")})
# The documents of issue 7, checked link by link; other documents are checked for their links to ADRs.
OWN = [ROOT / "docs" / "DEPLOY.md", ROOT / "docs" / "HARDENING.md", *ADR_DIR.glob("*.md")]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    text = FENCE.sub("", path.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M)}


def links(path):
    text = FENCE.sub("", path.read_text())
    return [target for target in LINK.findall(text) if not re.match(r"^[a-z]+:", target)]


def test_there_are_adrs():
    numbers = [p.name[:4] for p in ADRS]
    assert len(ADRS) >= 7 and numbers == [f"{i:04d}" for i in range(1, len(ADRS) + 1)], numbers


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc):
    broken = []
    for target in links(doc):
        if doc not in OWN and "adr/" not in target:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (doc.parent / file_part).resolve() if file_part else doc
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading #{anchor} in {dest.relative_to(ROOT)})")
    assert not broken, f"{doc.relative_to(ROOT)}: broken links: {broken}"


@pytest.mark.parametrize("adr", ADRS, ids=lambda p: p.name)
def test_adr_has_context_decision_consequences(adr):
    headings = {h.lower() for h in re.findall(r"^## (.+)$", adr.read_text(), re.M)}
    assert {"context", "decision", "consequences"} <= headings, f"{adr.name} has sections {sorted(headings)}"
    assert re.search(r"^- Status: (accepted|proposed|superseded|deprecated)", adr.read_text(), re.M)


def _index_rows():
    """(adr file, [documents relying on it]) from the table in docs/adr/README.md."""
    rows = []
    for line in (ADR_DIR / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (m := re.match(r"\[\d{4}\]\(([^)]+)\)", cells[0])):
            relied = [(ADR_DIR / t).resolve() for t in LINK.findall(cells[2])]
            rows.append(((ADR_DIR / m.group(1)).resolve(), relied))
    return rows


def test_index_lists_every_adr():
    assert sorted(adr for adr, _ in _index_rows()) == [p.resolve() for p in ADRS]


@pytest.mark.parametrize("adr,relied_on_by", _index_rows(), ids=lambda v: getattr(v, "name", ""))
def test_documents_relying_on_an_adr_link_to_it(adr, relied_on_by):
    assert relied_on_by, f"the index names no document relying on {adr.name}"
    for doc in relied_on_by:
        targets = {(doc.parent / t.partition("#")[0]).resolve() for t in links(doc)}
        assert adr in targets, f"{doc.relative_to(ROOT)} relies on {adr.name} (docs/adr/README.md) but never links it"


def test_every_adr_is_linked_from_outside_docs_adr():
    outside = [d for d in DOCS if ADR_DIR not in d.parents]
    linked = {(d.parent / t.partition("#")[0]).resolve() for d in outside for t in links(d)}
    lonely = [p.name for p in ADRS if p.resolve() not in linked]
    assert not lonely, f"no document outside docs/adr/ links {lonely}"
