"""Navigation on a phone: at 360 and 390 px the header's links give way to a bar at the bottom (the pages used
most, and "More" for the others, each reachable); at desktop width the header keeps them all; the viewer,
which fills the screen, has no bar."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import upload
from media_fixtures import jpeg

from .conftest import DESKTOP
from .flows import nav

PHONES = pytest.mark.parametrize("viewport", [{"width": 360, "height": 740}, {"width": 390, "height": 844}],
                                 ids=["360", "390"])
DIRECT = ["Photos", "Albums", "Search", "Upload"]
UNDER_MORE = ["Map", "Trash", "Messages", "Contacts", "Download all", "Account"]


@PHONES
def test_the_bottom_bar_reaches_every_page_on_a_phone(browse, accounts, viewport):
    member = accounts.create(name="thumb")
    photo = upload(member, jpeg(8300), filename="IMG_bar.jpg").json()["id"]
    visit = browse(viewport)
    visit.sign_in(member)
    page = visit.page
    bar = page.locator(".bottom-nav")
    expect(bar).to_be_visible()
    expect(page.locator(".top .nav")).to_be_hidden()
    box = bar.bounding_box()
    assert box["y"] + box["height"] == pytest.approx(viewport["height"], abs=1)  # at the bottom of the screen
    for name in DIRECT:
        expect(bar.get_by_role("link", name=name, exact=True)).to_be_visible()
        assert bar.get_by_role("link", name=name, exact=True).bounding_box()["height"] >= 44  # a thumb's target
    expect(bar.get_by_role("link", name="Photos")).to_have_attribute("aria-current", "page")
    for name in UNDER_MORE:
        nav(page, name)
        expect(page.locator(".bottom-nav summary")).to_have_attribute("aria-current", "page")
        expect(bar.locator(".more-sheet")).to_be_hidden()  # closed again on the page it opened
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], name
    nav(page, "Albums")
    expect(bar.get_by_role("link", name="Albums")).to_have_attribute("aria-current", "page")
    page.goto(f"/photos/{photo}")
    expect(page.locator(".bottom-nav")).to_be_hidden()  # the viewer fills the screen
    page.goto("/")
    page.locator(".bottom-nav summary").click()
    visit.screenshot(f"phone-more-{viewport['width']}")


def test_a_desktop_keeps_the_header_navigation(browse, accounts):
    member = accounts.create(name="wide")
    visit = browse(DESKTOP)
    visit.sign_in(member)
    page = visit.page
    expect(page.locator(".bottom-nav")).to_be_hidden()
    for name in DIRECT + UNDER_MORE:
        expect(page.locator(".top .nav").get_by_role("link", name=name, exact=True)).to_be_visible()


def test_the_base_template_sets_no_name_a_page_could_use():
    """A name set at the top of base.html reaches every page's blocks and shadows what the page was given (the
    contacts page's book count once showed the More menu's links): base.html sets names only in a scope."""
    from jinja2 import Environment, nodes

    import phonecloud.web

    source = (Path(phonecloud.web.__file__).parent / "templates" / "base.html").read_text()
    scoped = (nodes.For, nodes.With, nodes.Block, nodes.Macro, nodes.CallBlock)
    leaking = []

    def walk(node):
        if isinstance(node, (nodes.Assign, nodes.AssignBlock)):
            leaking.append(node.lineno)
        for child in node.iter_child_nodes():
            if not isinstance(child, scoped):
                walk(child)

    walk(Environment(extensions=["jinja2.ext.do"]).parse(source))
    assert leaking == [], f"base.html sets names at its top level, lines {leaking}"
