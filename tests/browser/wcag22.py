"""WCAG 2.2 criteria axe-core cannot judge, measured in the page as it is laid out (ADR 0064, session 15):
2.4.11 Focus Not Obscured (the focused control is not hidden under something drawn over it, a sticky header or
footer), 2.5.8 Target Size (every control one clicks is 24 by 24 CSS pixels, or has room around it as the criterion
allows) and 3.3.8 Accessible Authentication (the sign-in form lets a password manager fill it and lets one paste).
Each returns what it found wrong, one readable line each, so that a test asserts ``== []`` and shows the rest."""

from __future__ import annotations

from typing import Any

#: The controls 2.5.8 speaks of: what a pointer activates (hidden inputs and disabled controls are no targets).
TARGETS = ("a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex]"
           ":not([tabindex='-1'])")
MOST_TABS = 200  # more than any page here has controls: a page is tabbed through until the focus comes round

# The focused control's box, cut to the window (a control taller than it, a table that scrolls in its box, is
# judged by the part one sees), and what the window shows at that part's centre: the control, something inside
# it (a label's text, a link's span), or something drawn over it.
OBSCURED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    if (el.dataset.tabbed) return "round";  // the focus came round to a control it had been on
    el.dataset.tabbed = "1";
    const r = el.getBoundingClientRect();
    const [left, right] = [Math.max(r.left, 0), Math.min(r.right, innerWidth)];
    const [top, bottom] = [Math.max(r.top, 0), Math.min(r.bottom, innerHeight)];
    const name = el.tagName.toLowerCase() + " " + JSON.stringify((el.getAttribute("aria-label") || el.textContent
        || el.name || "").trim().slice(0, 40));
    if (right <= left || bottom <= top) return name + ": out of the window";
    const over = document.elementFromPoint((left + right) / 2, (top + bottom) / 2);
    if (over && (over === el || el.contains(over))) return "";
    return name + ": under " + (over ? over.tagName.toLowerCase() + (over.id ? "#" + over.id : "")
        + (over.className ? "." + String(over.className).split(" ").join(".") : "") : "nothing");
}"""

# Every visible target's box; whether it is a link inside a line of text (2.5.8's "inline" exception: its size is
# the line's); then the criterion's spacing test for one smaller than 24 by 24: a circle of 24 px across, centred
# on it, meets no other target nor another small target's circle.
UNDERSIZED = """selector => {
    const inline = el => el.tagName === "A" && getComputedStyle(el).display === "inline"
        && [...el.parentElement.childNodes].some(n => n !== el && n.nodeType === 3 && n.textContent.trim());
    const targets = [...document.querySelectorAll(selector)].filter(el => !el.disabled && el.getClientRects().length
        && getComputedStyle(el).visibility !== "hidden").map(el => {
            const r = el.getBoundingClientRect();
            return {el, r, cx: r.left + r.width / 2, cy: r.top + r.height / 2,
                    small: r.width < 23.99 || r.height < 23.99, inline: inline(el)};
        }).filter(t => t.r.width > 1 && t.r.height > 1);  // the screen readers' text (.sr-only) is no target
    const gap = (t, r) => Math.hypot(Math.max(r.left - t.cx, 0, t.cx - r.right), Math.max(r.top - t.cy, 0,
        t.cy - r.bottom));
    const clash = (t, o) => o.el !== t.el && !o.el.contains(t.el) && !t.el.contains(o.el)
        && (o.small ? Math.hypot(o.cx - t.cx, o.cy - t.cy) < 24 : gap(t, o.r) < 12);
    return targets.filter(t => t.small && !t.inline).flatMap(t => {
        const near = targets.filter(o => clash(t, o));
        if (!near.length) return [];
        const name = t => t.el.tagName.toLowerCase() + " " + JSON.stringify((t.el.getAttribute("aria-label")
            || t.el.textContent || t.el.name || "").trim().slice(0, 30));
        return [`${name(t)} is ${Math.round(t.r.width)}x${Math.round(t.r.height)} px, within 12 px of `
            + near.map(name).join(", ")];
    });
}"""

# The sign-in form as a password manager and a paste see it (3.3.8): the autocomplete tokens the HTML standard
# gives a sign-in, nothing turning them off, and a paste into each field that no script cancels.
SIGN_IN = """() => {
    const form = document.querySelector("input[type=password]")?.form;
    if (!form) return ["no password field in a form"];
    const found = [];
    const user = form.querySelector("input[autocomplete~=username]");
    const password = form.querySelector("input[type=password]");
    if (!user) found.push("no field with autocomplete=username for the password manager to fill");
    if (password.autocomplete !== "current-password") found.push(`the password's autocomplete is `
        + `${JSON.stringify(password.getAttribute("autocomplete"))}, not "current-password"`);
    if ((form.getAttribute("autocomplete") || "").toLowerCase() === "off") found.push("the form says autocomplete=off");
    for (const field of [user, password].filter(Boolean)) {
        const paste = new ClipboardEvent("paste", {clipboardData: new DataTransfer(), cancelable: true,
                                                   bubbles: true});
        field.dispatchEvent(paste);
        if (paste.defaultPrevented) found.push(`a paste into ${field.name} is refused`);
    }
    return found;
}"""


def obscured_focus(page: Any, limit: int = MOST_TABS) -> list[str]:
    """Tab from the top of the page until the focus comes round (or ``limit`` presses): each control whose focus
    is out of the window or under something else at its centre (2.4.11)."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    found: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        problem = page.evaluate(OBSCURED)
        if problem is None or problem == "round":
            break
        if problem:
            found.append(problem)
    page.evaluate("() => document.querySelectorAll('[data-tabbed]').forEach(el => delete el.dataset.tabbed)")
    return found


def small_targets(page: Any) -> list[str]:
    """Each target under 24 by 24 CSS px with another target within the criterion's spacing (2.5.8)."""
    found: list[str] = page.evaluate(UNDERSIZED, TARGETS)
    return found


def sign_in_barriers(page: Any) -> list[str]:
    """What keeps a password manager or a paste from the sign-in form on the page (3.3.8)."""
    found: list[str] = page.evaluate(SIGN_IN)
    return found
