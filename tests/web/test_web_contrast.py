"""WCAG 2.x AA contrast, measured in Chromium on the main pages of the real app.

For every element that shows text, the computed text colour is compared with the first opaque
background behind it: at least 4.5:1, or 3:1 for large text (≥ 24 px, or ≥ 18.66 px bold).
"""

from __future__ import annotations

from typing import Any

import pytest
from web_support import LINKED_PATIENT, sign_in

pytestmark = pytest.mark.browser

# Runs in the page: collects (text, ratio, needed) for each element with its own text.
_MEASURE = r"""
() => {
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const background = el => { for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a >= 0.99) return c; }
    return {r: 255, g: 255, b: 255, a: 1}; };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const style = getComputedStyle(el);
    const hidden = style.visibility === 'hidden' || style.display === 'none';
    if (hidden || (el.offsetParent === null && style.position !== 'fixed')) continue;
    let fg = parse(style.color); const bg = background(el);
    if (!fg) continue;
    const mix = (f, b) => f * fg.a + b * (1 - fg.a);
    if (fg.a < 1) fg = {r: mix(fg.r, bg.r), g: mix(fg.g, bg.g), b: mix(fg.b, bg.b)};
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    const needed = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    out.push({text: el.textContent.trim().slice(0, 40), tag: el.tagName, ratio, needed});
  }
  return out;
}
"""


def _failures(page: Any) -> list[dict[str, Any]]:
    return [m for m in page.evaluate(_MEASURE) if m["ratio"] + 1e-6 < m["needed"]]


@pytest.mark.parametrize(("username", "paths"), [
    ("demo-clinician", ["/clinic", "/clinic/triage", "/clinic/team", "/learn"]),
    ("demo-patient", [f"/my/{LINKED_PATIENT}", f"/my/{LINKED_PATIENT}/symptoms",
                      f"/my/{LINKED_PATIENT}/card", f"/my/{LINKED_PATIENT}/recovery"]),
])
def test_text_contrast_meets_wcag_aa(page: Any, username: str, paths: list[str]) -> None:
    sign_in(page, username)
    problems: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state()
        bad = _failures(page)
        if bad:
            problems[path] = bad[:5]
    assert not problems, problems


def test_chart_page_contrast(page: Any) -> None:
    sign_in(page, "demo-clinician")
    page.goto("/clinic")
    page.locator("a[href^='/clinic/patients/']").first.click()
    page.wait_for_load_state()
    assert not _failures(page)[:5]


def test_the_check_catches_faint_text(page: Any) -> None:
    page.goto("/login")
    page.evaluate("""() => { const p = document.createElement('p');
        p.textContent = 'faint grey on white'; p.style.color = '#aaaaaa';
        p.style.background = '#ffffff'; document.querySelector('main, body').appendChild(p); }""")
    bad = _failures(page)
    assert any(m["text"] == "faint grey on white" and m["ratio"] < 2.5 for m in bad)
