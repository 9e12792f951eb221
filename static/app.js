// wxgroups: the little behaviour htmx does not give by itself. Loaded with `defer`, same origin
// (the CSP allows no inline script).
(function () {
  "use strict";
  // After a swap, move focus to what the operator needs next: the first invalid field, else
  // an input that asked for it (the rename box), so keyboard users are not left stranded.
  // With outerHTML swaps the event's target is the element that was replaced, so look its id
  // up again to find the new one.
  document.addEventListener("htmx:afterSettle", function (event) {
    var old = event.detail.target;
    if (!old) return;
    var root = (old.id && document.getElementById(old.id)) || old;
    if (!root.querySelector) return;
    var target = root.querySelector('[aria-invalid="true"]') || root.querySelector("[autofocus]");
    if (target) {
      target.focus();
      if (target.select) target.select();
    }
  });
})();
