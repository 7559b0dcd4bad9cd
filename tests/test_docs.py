"""The documentation's pages (README, docs/, benchmarks/): a short README, and relative links that
lead to files that exist."""

import re
from urllib.parse import unquote

from tests.data_support import REPO

# [text](target) and [text](target "title"), not images' or code's brackets; the target up to a
# space, a closing parenthesis or a #fragment.
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(\s*<?([^)\s#>]*)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
IMAGE = re.compile(r"!\[[^\]\n]*\]\(\s*<?([^)\s#>]*)")


def _pages():
    docs = sorted((REPO / "docs").rglob("*.md"))
    return [REPO / "README.md", *docs, *sorted((REPO / "benchmarks").glob("*.md"))]


def _relative_links(page):
    text = FENCE.sub("", page.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)  # inline code
    for target in LINK.findall(text):
        if target and not re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):  # http:, mailto:, ...
            yield target


def test_the_readme_is_a_landing_page():
    assert (REPO / "README.md").stat().st_size < 12_000


def test_there_are_docs_pages_and_a_model_card_per_shipped_preset():
    from semanir.pretrained import shipped_presets

    presets = shipped_presets()
    assert len(presets) >= 9 and len(_pages()) > 5
    index = REPO / "docs" / "models" / "README.md"
    rows = {line.split("|")[1].strip().split()[0].strip("`"): line for line in index.read_text().splitlines()
            if line.startswith("| `")}  # fmt: skip
    for preset in presets:
        assert (REPO / "docs" / "models" / f"{preset.name}.md").is_file()
        # The index says what each preset restores as its own file does.
        assert f"| {preset.label} | [{preset.name}.md]({preset.name}.md) |" in rows[preset.name], preset.name


def test_every_relative_link_points_at_an_existing_file():
    broken = []
    for page in _pages():
        for target in _relative_links(page):
            path = (REPO / target.lstrip("/")) if target.startswith("/") else page.parent / unquote(target)
            if not path.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, broken


def test_the_results_index_links_every_benchmarks_page():
    index = REPO / "benchmarks" / "RESULTS.md"
    linked = set(_relative_links(index))
    pages = {page.name for page in (REPO / "benchmarks").glob("*.md")} - {index.name}
    assert pages <= linked, sorted(pages - linked)


def test_the_link_finder_finds_links():
    # Guards the test above against a pattern that silently matches nothing.
    links = list(_relative_links(REPO / "README.md"))
    assert "docs/cli.md" in links and "benchmarks/RESULTS.md" in links


def test_every_picture_shown_exists_and_the_pictures_stay_small():
    shown, missing = set(), []
    for page in _pages():
        for target in IMAGE.findall(FENCE.sub("", page.read_text())):
            path = (page.parent / unquote(target)).resolve()
            shown.add(path)
            if not path.is_file():
                missing.append(f"{page.relative_to(REPO)}: {target}")
    assert not missing, missing
    images = sorted((REPO / "docs" / "images").glob("*.png"))
    assert images and {p.resolve() for p in images} <= shown, "a picture in docs/images/ that no page shows"
    assert all(p.stat().st_size < 300_000 for p in images), [(p.name, p.stat().st_size) for p in images]
