/* Accessible names for the controls that the bundled ipywidgets manager draws at load time.
 *
 * ipywidgets 8 shows a slider's description as a <label> beside it, but the slider's
 * handles (role="slider") and its editable readout are not tied to that label, so a screen
 * reader announces "slider" with no name (axe: aria-input-field-name, label). Once a
 * widget is on the page, each of its unnamed controls is named after the widget's label,
 * and each image a widget's output shows gets alt text. _config.yml (html_js_files) loads it
 * on every page; on pages without widgets it watches and does nothing.
 */
(function () {
  "use strict";
  function nameControls(root) {
    root.querySelectorAll(".jupyter-widgets.widget-inline-hbox").forEach(function (box) {
      var label = box.querySelector(".widget-label");
      var name = label ? label.textContent.trim() : "";
      if (!name) return;
      box.querySelectorAll('[role="slider"], input, select, textarea, .widget-readout')
        .forEach(function (el, k) {
          if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return;
          var role = el.getAttribute("role");
          var part = role === "slider" && box.querySelectorAll('[role="slider"]').length > 1
            ? (k === 0 ? " (low)" : " (high)") : "";
          el.setAttribute("aria-label", name + part);
        });
    });
    root.querySelectorAll(".jupyter-widgets img:not([alt]), .jp-RenderedImage img:not([alt])")
      .forEach(function (img) {
        img.setAttribute("alt", "The explorer's figure: one example of each digit, " +
          "drawn with the parameters set above.");
      });
  }
  function start() {
    nameControls(document);
    new MutationObserver(function () { nameControls(document); })
      .observe(document.body, { childList: true, subtree: true });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
