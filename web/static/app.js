// Small progressive enhancements; every page works without this script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Bring the error summary into view and focus so screen readers announce it.
  var summary = document.getElementById("erreurs");
  if (summary) { summary.focus(); }
  // Avoid double submissions (e.g. a signature sent twice by a double tap on a tablet).
  document.querySelectorAll("form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type='submit']").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  });
});
