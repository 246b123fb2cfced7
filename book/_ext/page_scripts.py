"""Sphinx extension: the scripts each page of the book loads, fixed for offline reading.

Two fixes, both measured by ``tests/test_browser.py`` in headless Chromium:

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
"""

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


def setup(app):
    app.connect("html-page-context", _fix_scripts, priority=900)  # after every extension added its scripts
    return {"parallel_read_safe": True, "parallel_write_safe": True}
