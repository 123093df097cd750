/* The segmentation editor's Preview button: posts the unsaved form to the preview endpoint and shows the
   returned HTML fragment in place. Without JavaScript the button submits the form (action=preview) and the
   page comes back with the preview. When the values have field errors, the form is submitted the same way,
   so each error shows next to its field. Ticking a column highlights its row. */
(function () {
  "use strict";
  var form = document.getElementById("editor-form");
  var area = document.getElementById("preview");
  if (!form || !area || !window.fetch || !window.FormData) return;
  var button = form.querySelector(".js-preview");
  form.addEventListener("change", function (event) {
    var box = event.target;
    if (box && box.name === "features") {
      var row = box.closest("tr");
      if (row) row.classList.toggle("chosen", box.checked);
    }
  });
  if (!button) return;
  button.addEventListener("click", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    data.set("action", "preview");
    button.disabled = true;
    area.hidden = false;
    area.setAttribute("aria-busy", "true");
    area.innerHTML = "<h2>Preview</h2><p class=\"muted\">Computing on a sample…</p>";
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    })
      .then(function (response) {
        if (response.status === 422) {  // field errors: let the page show them next to their fields
          var action = document.createElement("input");
          action.type = "hidden"; action.name = "action"; action.value = "preview";
          form.appendChild(action);
          form.submit();
          return null;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        area.innerHTML = html;
        area.removeAttribute("aria-busy");
        button.disabled = false;
      })
      .catch(function (error) {
        area.innerHTML = "<h2>Preview</h2><p class=\"error\">The preview failed (" + String(error.message) + "). Try again.</p>";
        area.removeAttribute("aria-busy");
        button.disabled = false;
      });
  });
})();
