// Small behaviours of forms, declared in the markup instead of inline handlers (the Content-Security-Policy
// allows no inline script): data-confirm asks before a form is sent, data-autosubmit sends a form when a
// field changes, and a form with data-drop-empty leaves its empty fields out of the address.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute("data-drop-empty")) {
      form.querySelectorAll("input, select").forEach(function (el) {
        if ((el.type === "number" || el.type === "text" || el.type === "search" || el.tagName === "SELECT") && el.value === "") el.disabled = true;
      });
    }
  });
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.hasAttribute && field.hasAttribute("data-autosubmit") && field.form) field.form.submit();
  });
})();
