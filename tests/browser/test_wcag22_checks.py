"""The WCAG 2.2 checks of ``wcag22.py`` find what they look for: each is run on a page broken on purpose the way
its criterion forbids, and on the same page mended (ADR 0064, session 15). Without this a check that measured
nothing would pass every page of the desk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.accessibility import failing, violations
from tests.browser.wcag22 import obscured_focus, sign_in_barriers, small_targets

pytestmark = pytest.mark.browser
LINKS = "".join(f'<p><a href="#{n}">Link {n}</a></p>' for n in range(30))
FOOTER = '<footer style="position: fixed; bottom: 0; left: 0; right: 0; height: 300px; background: #fff">Foot</footer>'
TINY = '<p><button style="{}">A</button><button style="{}">B</button></p>'
SIGN_IN = ('<form method="post"{form}><input name="username" autocomplete="username">'
           '<input name="password" type="password" autocomplete="{password}"{paste}><button>Sign in</button></form>')


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 800, "height": 600})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_a_control_tabbed_to_under_a_fixed_footer_is_found(page) -> None:
    page.set_content(f"<main>{LINKS}</main>{FOOTER}")
    found = obscured_focus(page)
    assert found and all(": under footer" in line for line in found), found
    assert 'a "Link 29": under footer' in found
    page.set_content(f"<main style='padding-bottom: 320px'>{LINKS}</main>"
                     f"<style>html {{ scroll-padding-bottom: 320px }}</style>{FOOTER}")
    assert obscured_focus(page) == []


def test_small_targets_side_by_side_are_found_and_small_ones_apart_are_not(page) -> None:
    small = "width: 16px; height: 16px; padding: 0; margin: 0"
    page.set_content(TINY.format(small, small))
    assert small_targets(page) == ['button "A" is 16x16 px, within 12 px of button "B"',
                                   'button "B" is 16x16 px, within 12 px of button "A"']
    assert any(line.startswith("target-size (serious)") for line in failing(violations(page)))  # axe: 2.2 too
    page.set_content(TINY.format(small, small + "; margin-left: 24px"))  # the criterion's spacing exception
    assert small_targets(page) == []
    page.set_content(TINY.format("min-height: 24px; min-width: 24px", "min-height: 24px; min-width: 24px"))
    assert small_targets(page) == []
    page.set_content('<p>Read <a href="#a">this</a> and <a href="#b">that</a> first.</p>')  # inline: exempt
    assert small_targets(page) == []


def test_a_sign_in_a_password_manager_cannot_fill_or_that_refuses_a_paste_is_found(page) -> None:
    page.set_content(SIGN_IN.format(form=' autocomplete="off"', password="off",
                                    paste=' onpaste="event.preventDefault()"'))
    assert sign_in_barriers(page) == ['the password\'s autocomplete is "off", not "current-password"',
                                      "the form says autocomplete=off", "a paste into password is refused"]
    page.set_content(SIGN_IN.format(form="", password="current-password", paste=""))
    assert sign_in_barriers(page) == []
