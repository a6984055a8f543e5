// Upload with a progress bar (progressive enhancement of a plain multipart form).
// Without this script the form posts normally and the page reloads with the result.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    if (!window.FormData || !window.XMLHttpRequest) { return; }
    var input = form.querySelector("input[type='file']");
    var error = form.querySelector(".field-error");
    var progressBox = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    var button = form.querySelector("button[type='submit']");
    var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
    var maxLabel = form.getAttribute("data-max-label");
    var describedBy = input.getAttribute("aria-describedby").replace(" " + error.id, "");

    function showError(message) {
      error.textContent = "Erreur : " + message;
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", describedBy + " " + error.id);
      form.querySelector(".field").classList.add("field-invalid");
      progressBox.hidden = true;
      status.textContent = "";
      // app.js disables submit buttons just after any submit: enable ours after it.
      window.setTimeout(function () { button.disabled = false; }, 50);
      input.focus();
    }

    function clearError() {
      error.textContent = "";
      error.hidden = true;
      input.removeAttribute("aria-invalid");
      input.setAttribute("aria-describedby", describedBy);
      form.querySelector(".field").classList.remove("field-invalid");
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearError();
      var file = input.files && input.files[0];
      if (!file) { showError("Choisissez un fichier PDF à ajouter."); return; }
      if (maxBytes && file.size > maxBytes) {
        showError("Fichier trop volumineux : " + (file.size / 1048576).toFixed(1).replace(".", ",") +
          " Mo (taille maximale : " + maxLabel + ").");
        return;
      }
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      request.setRequestHeader("Accept", "application/json");
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.floor((e.loaded / e.total) * 100);
        bar.value = percent;
        bar.textContent = percent + " %";
        // Announce every quarter, not every event: screen readers would be flooded.
        if (percent % 25 === 0 || percent === 100) { status.textContent = "Envoi : " + percent + " %"; }
      });
      request.addEventListener("load", function () {
        var body = null;
        try { body = JSON.parse(request.responseText); } catch (ignored) { body = null; }
        if (request.status === 200 && body && body.location) {
          status.textContent = "Document ajouté. Mise à jour de la page…";
          var target = new URL(body.location, window.location.href);
          if (target.pathname === window.location.pathname) {
            window.location.hash = target.hash;
            window.location.reload();
          } else {
            window.location.assign(target.href);
          }
          return;
        }
        showError(body && body.erreur ? body.erreur :
          "L'envoi a échoué (" + request.status + "). Rechargez la page et recommencez.");
      });
      request.addEventListener("error", function () {
        showError("L'envoi a été interrompu : vérifiez votre connexion et recommencez.");
      });
      progressBox.hidden = false;
      bar.value = 0;
      status.textContent = "Envoi du document en cours…";
      button.disabled = true;
      request.send(new FormData(form));
    });
  });
});
