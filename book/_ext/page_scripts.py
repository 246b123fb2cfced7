"""Sphinx extension: the scripts each page of the book loads, fixed for offline reading.

Four fixes; the first two are measured by ``tests/test_browser.py`` in headless Chromium:

* **Each script once.** With Jupyter Book 1.0.4 (Sphinx 8), an inline script that an
  extension adds after the HTML builder has started is stored twice, once with the file
  name ``None`` and once with ``""``, so Sphinx's own de-duplication misses it.
  sphinx-thebe's ``const THEBE_JS_URL = ...`` then runs twice on every page: a JavaScript
  error ("Identifier has already been declared") in every reader's console.
* **Widget fonts from the book.** Each AMD module of the bundled widget manager
  (``_static/embed-amd.js``) looks for the icon fonts in the folder require.js gives the
  module, which is beside the page (``book/@jupyter-widgets/...``), so the fonts 404;
  which module asks first varies from load to load. Telling require.js that every one of
  them lives in ``_static/`` before it loads makes the fonts load.
* **Colab opens what Colab can show.** A chapter's Colab button opens its plain copy in
  ``book/colab/`` (``python -m mnist1d.course.plain``: glued values, citations and exercises
  written out), since Colab does not render MyST; the instructors and report pages, which
  read the chapters beside them, get no launch button.
* **Markup axe-core rejects** (``tests/test_browser.py`` runs it on every page): the
  bibliography's false ``role="list"`` and the collapsed cells' toggles, whose
  ``aria-label`` does not contain the text they show (``A11Y_FIXES``).
"""
import base64
import hashlib
import html
import json
import re
from pathlib import Path

WIDGET_PATHS = """var require = {paths: (function (root) {
  var paths = {"@jupyter-widgets/html-manager/dist": root + "_static"};
  ["base", "base7", "controls", "controls7", "html-manager"].forEach(function (name) {
    paths["@jupyter-widgets/" + name] = root + "_static/" + name;
  });
  return paths;
})(document.documentElement.dataset.content_root)};"""


def _key(js):
    return js.filename or "", js.priority, tuple(sorted((k, str(v)) for k, v in js.attributes.items()))


def _fix_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for js in context.get("script_files", []):
        if _key(js) in seen:
            continue
        seen.add(_key(js))
        if (js.filename or "").endswith("require.js"):
            # a global `require` object defined before require.js is its configuration
            kept.append(type(js)("", body=WIDGET_PATHS, priority=js.priority))
        kept.append(js)
    context["script_files"] = kept


CHAPTER = re.compile(r"^book/(\d\d_[\w-]+)$")


def _colab_targets(app, pagename, templatename, context, doctree):
    """Colab opens the plain copy of a chapter (book/colab/, no MyST); pages that need a checkout get no launch button."""
    chapter = CHAPTER.match(pagename)
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        if not chapter:
            context["header_buttons"] = [g for g in context["header_buttons"] if g is not group]
            return
        for button in group["buttons"]:
            if "colab" in button.get("url", ""):
                button["url"] = button["url"].replace(f"/{pagename}.ipynb", f"/book/colab/{chapter.group(1)}.ipynb")


# Markup that axe-core reports, and what it becomes:
#  - docutils marks a bibliography role="list" though its entries are not list items
#    (aria-required-children);
#  - myst-nb names every "Show code cell source" toggle "Toggle hidden content", a name
#    that does not contain its visible text (label-content-name-mismatch); without the
#    aria-label its name is the text it shows.
A11Y_FIXES = {
    '<div role="list" class="citation-list">': '<div class="citation-list">',
    '<summary aria-label="Toggle hidden content">': "<summary>",
}


def _stored_alt_texts(srcdir):
    """{image file name: alt text} for every figure a notebook stores with ``mystnb.image.alt``.

    myst-nb names an output image by the SHA-256 of its bytes, and a figure pasted into
    another page by ``{glue}`` keeps no cell metadata, so its alt text would be its path;
    this table gives it the alt text of the cell that made it."""
    alts = {}
    for path in Path(srcdir).glob("book/*.ipynb"):
        for cell in json.loads(path.read_text()).get("cells", []):
            alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
            for out in cell.get("outputs", []) if alt else []:
                png = out.get("data", {}).get("image/png")
                if png:
                    png = "".join(png) if isinstance(png, list) else png
                    alts[hashlib.sha256(base64.b64decode(png)).hexdigest() + ".png"] = alt
    return alts


PATH_AS_ALT = re.compile(r'<img alt="([^"]*/_images/([0-9a-f]{64}\.png))" src="\1"')


def _a11y_markup(app, pagename, templatename, context, doctree):
    body = context.get("body")
    if body:
        for old, new in A11Y_FIXES.items():
            body = body.replace(old, new)
        if PATH_AS_ALT.search(body):
            alts = _stored_alt_texts(app.srcdir)
            body = PATH_AS_ALT.sub(
                lambda m: f'<img alt="{html.escape(alts.get(m[2], m[1]))}" src="{m[1]}"', body)
        context["body"] = body


def setup(app):
    app.connect("html-page-context", _fix_scripts, priority=900)  # after every extension added its scripts
    app.connect("html-page-context", _colab_targets, priority=900)  # after the theme made its launch buttons
    app.connect("html-page-context", _a11y_markup)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
