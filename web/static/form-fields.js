// Generated task forms, progressively enhanced. Without this script: "Ajouter une ligne" posts
// the form and the page comes back with one more row; files are sent with the form.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Repeatable groups: add a row in place, numbered after the highest index present.
  document.querySelectorAll("fieldset[data-repeat]").forEach(function (group) {
    var button = group.querySelector("button[name='_ajouter']");
    var template = group.querySelector("template");
    var list = group.querySelector(".repeat-rows");
    if (!button || !template || !list) { return; }
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var next = list.children.length;
      var html = template.innerHTML.split("__i__").join(String(next)).split("Nouvelle ligne").join("Ligne " + (next + 1));
      list.insertAdjacentHTML("beforeend", html);
      var first = list.lastElementChild.querySelector("input, select, textarea");
      if (first) { first.focus(); }
    });
  });

  // Forms with files: send with a progress bar, then show the page the server answers.
  document.querySelectorAll("form[data-upload-progress]").forEach(function (form) {
    if (!window.FormData || !window.XMLHttpRequest) { return; }
    var progressBox = form.querySelector(".upload-progress");
    var bar = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    form.addEventListener("submit", function (event) {
      var files = Array.prototype.some.call(form.querySelectorAll("input[type='file']"), function (input) {
        return input.files && input.files.length > 0;
      });
      if (!files || !progressBox) { return; }  // nothing to upload: the ordinary submission
      event.preventDefault();
      var data = new FormData(form);
      if (event.submitter && event.submitter.name) { data.append(event.submitter.name, event.submitter.value); }
      var request = new XMLHttpRequest();
      request.open("POST", form.action || window.location.href);
      request.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) { return; }
        var percent = Math.floor((e.loaded / e.total) * 100);
        bar.value = percent;
        bar.textContent = percent + " %";
        if (percent % 25 === 0 || percent === 100) { status.textContent = "Envoi : " + percent + " %"; }
      });
      request.addEventListener("load", function () {
        // The answer is already here (a redirection followed, its one-time message shown):
        // display it under its own address rather than loading it a second time.
        if (request.responseURL && request.responseURL !== window.location.href) {
          window.history.replaceState(null, "", request.responseURL);
        }
        document.open();
        document.write(request.responseText);
        document.close();
      });
      request.addEventListener("error", function () {
        // app.js disables submit buttons just after any submit: enable them again after it.
        window.setTimeout(function () {
          form.querySelectorAll("button[type='submit']").forEach(function (b) { b.disabled = false; });
        }, 50);
        progressBox.hidden = true;
        status.textContent = "L'envoi a été interrompu : vérifiez votre connexion et recommencez.";
      });
      progressBox.hidden = false;
      bar.value = 0;
      status.textContent = "Envoi des documents en cours…";
      request.send(data);
    });
  });
});
