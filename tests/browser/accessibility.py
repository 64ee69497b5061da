"""What the accessibility tests run in the page: axe-core (vendored in ``vendor/``, never fetched) and a check
that the focused control shows a focus indicator one can see (ADR 0064); WCAG 2.2's own checks are in ``wcag22.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
#: WCAG 2.0, 2.1 and 2.2 A and AA rules (2.2's is target size), and axe's best practices (landmarks, headings,
#: a page's one h1, ...): a best-practice violation fails the suite at the same impacts (ADR 0064, session 15).
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
FAILING = {"moderate", "serious", "critical"}  # the impacts that fail the suite; minor ones are reported only

RUN_AXE = """async tags => {
    const result = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary.split("\\n").slice(1).join(" "))}));
}"""


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's WCAG 2.2 A/AA and best-practice violations of the page as it is now, every impact."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_A_AA)
    return found


def failing(found: list[dict[str, Any]]) -> list[str]:
    """The violations that fail the suite, one readable line each."""
    return [f"{v['id']} ({v['impact']}): {v['help']}: {'; '.join(v['nodes'][:5])}"
            for v in found if v["impact"] in FAILING]


# The focused element's outline, and the contrast of its colour with the first opaque background behind it
# (WCAG 2.4.7 focus visible; 1.4.11 asks 3:1 of a focus indicator against what is next to it).
FOCUS_RING = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => v / 255)
        .map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    let behind = el.parentElement, bg = [255, 255, 255];
    while (behind) {
        const c = rgb(getComputedStyle(behind).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) { bg = c.slice(0, 3); break; }
        behind = behind.parentElement;
    }
    const [a, b] = [lum(rgb(style.outlineColor).slice(0, 3)), lum(bg)];
    return {tag: el.tagName.toLowerCase(), name: (el.getAttribute("aria-label") || el.textContent || el.name || "")
                .trim().slice(0, 40),
            style: style.outlineStyle, width: parseFloat(style.outlineWidth),
            contrast: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
}"""


def focus_ring(page: Any) -> dict[str, Any] | None:
    """The focused control and its focus indicator, or None when nothing is focused."""
    ring: dict[str, Any] | None = page.evaluate(FOCUS_RING)
    return ring


def visibly_focused(ring: dict[str, Any] | None) -> bool:
    """A solid outline at least 2 px wide, at 3:1 or more against what is behind the control."""
    return ring is not None and ring["style"] != "none" and ring["width"] >= 2 and ring["contrast"] >= 3
