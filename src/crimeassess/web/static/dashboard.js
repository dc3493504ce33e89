/* crimeassess dashboard: what htmx attributes do not cover. After the assessment panel is swapped in,
   copy its area/period back into the form (a ward link changes the area) and move keyboard focus to the
   panel heading, so screen-reader and keyboard users land on the new content. No inline script, no eval. */
(function () {
  "use strict";

  function setField(id, value) {
    var el = document.getElementById(id);
    if (!el || value === undefined || value === null) { return; }
    el.value = value;
    el.setAttribute("value", value); // keeps htmx's history snapshot in step
  }

  function onPanel(panel, focus) {
    var st = panel.querySelector("[data-state]");
    if (st) {
      setField("area", st.getAttribute("data-area"));
      setField("period", st.getAttribute("data-period"));
      setField("compare", st.getAttribute("data-compare"));
    }
    if (focus) {
      var h = panel.querySelector("#panel-title");
      if (h) { h.focus({ preventScroll: true }); }
      var top = panel.getBoundingClientRect().top + window.scrollY - 12;
      if (window.scrollY > top) { window.scrollTo({ top: top }); }
    }
  }

  // a table wider than its box scrolls sideways: say so above it (on a phone most columns are out of sight)
  function markScrollers() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      wraps[i].classList.toggle("scrolls", wraps[i].scrollWidth > wraps[i].clientWidth + 2);
    }
  }
  document.addEventListener("DOMContentLoaded", markScrollers);
  window.addEventListener("resize", markScrollers);

  document.addEventListener("htmx:beforeRequest", function (ev) {
    var t = ev.detail && ev.detail.target;
    if (t && t.id === "panel") { t.setAttribute("aria-busy", "true"); }
  });
  document.addEventListener("htmx:afterSettle", function (ev) {
    var t = ev.detail && ev.detail.target;
    if (t && t.id === "panel") {
      t.setAttribute("aria-busy", "false");
      onPanel(t, true);
      markScrollers();
    }
  });
  document.addEventListener("htmx:sendError", function () {
    var p = document.getElementById("panel");
    if (p) {
      p.setAttribute("aria-busy", "false");
      p.innerHTML = '<div class="notice error" role="alert"><h2 tabindex="-1" id="panel-title">The dashboard server did not answer</h2><p>Check that <code>crimeassess serve</code> is still running, then try again.</p></div>';
    }
  });
})();
