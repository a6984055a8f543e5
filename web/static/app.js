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
  // Length limits: never cut what was typed or pasted; say the limit and the count instead.
  document.querySelectorAll("[data-maxlength]").forEach(function (input) {
    var limit = parseInt(input.getAttribute("data-maxlength"), 10);
    var note = document.createElement("p");
    note.className = "hint length-note";
    note.id = input.id + "-longueur";
    note.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", note);
    function update() {
      var count = input.value.length;
      var over = count > limit;
      note.textContent = over
        ? count + " caractères pour " + limit + " au plus : raccourcissez le texte de " + (count - limit) + " caractère(s)."
        : (count > limit * 0.8 ? count + " caractères sur " + limit + " au plus." : "");
      note.classList.toggle("field-error", over);
      if (over) {
        input.setAttribute("aria-invalid", "true");
        input.dataset.tooLong = "1";
      } else if (input.dataset.tooLong) {  // only undo what this script set
        input.removeAttribute("aria-invalid");
        delete input.dataset.tooLong;
      }
    }
    input.addEventListener("input", update);
    update();
  });
});
