// wxgroups: the little behaviour htmx does not give by itself. Loaded with `defer`, same origin
// (the CSP allows no inline script).
(function () {
  "use strict";
  // After a swap, move focus to what the operator needs next: the first invalid field, else
  // an input that asked for it (the rename box), so keyboard users are not left stranded.
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = event.detail.target;
    if (!root || !root.querySelector) return;
    var target = root.querySelector('[aria-invalid="true"]') || root.querySelector("[autofocus]");
    if (target) {
      target.focus();
      if (target.select) target.select();
    }
  });
})();
