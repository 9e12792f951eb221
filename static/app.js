// wxgroups: the little behaviour htmx does not give by itself. Loaded with `defer`, same origin
// (the CSP allows no inline script). Everything here is a comfort: without it every page works.
(function () {
  "use strict";
  var root = document.documentElement;
  // Controls that only work with a script (the copy button) are shown only when scripts run.
  root.classList.add("js");

  // After a swap, move focus to what the operator needs next: the first invalid field, else
  // an input that asked for it (the rename box), so keyboard users are not left stranded.
  // With outerHTML swaps the event's target is the element that was replaced, so look its id
  // up again to find the new one. If the focused element went away with the swap (a saved or
  // cancelled rename row, a move), focus the first control of what replaced it.
  document.addEventListener("htmx:afterSettle", function (event) {
    var old = event.detail.target;
    if (!old) return;
    var fresh = (old.id && document.getElementById(old.id)) || old;
    if (!fresh.querySelector) return;
    var target = fresh.querySelector('[aria-invalid="true"]') || fresh.querySelector("[autofocus]");
    var active = document.activeElement;
    if (!target && (!active || active === document.body) && document.body.contains(fresh)) {
      target = fresh.querySelector("a[href], button:not([disabled]), input:not([type=hidden]), select");
    }
    if (target) {
      target.focus();
      if (target.select && target.type !== "search") target.select();
    }
  });

  // What is being reloaded says so to assistive technology while the request runs.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var t = event.detail.target;
    if (t && t.setAttribute) t.setAttribute("aria-busy", "true");
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var t = event.detail.target;
    if (t && t.removeAttribute) t.removeAttribute("aria-busy");
  });

  // Times in the operator's own zone and language. The server writes Beijing time (the no-JS
  // fallback, its `title` says so); `datetime` has the instant.
  function localTimes(scope) {
    if (!window.Intl || !scope.querySelectorAll) return;
    var format;
    try {
      format = new Intl.DateTimeFormat(root.lang || undefined, {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
        timeZoneName: "short",
      });
    } catch (e) {
      return;
    }
    var zone = format.resolvedOptions().timeZone;
    var times = scope.querySelectorAll("time[datetime]:not([data-local])");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var when = new Date(t.getAttribute("datetime"));
      if (isNaN(when.getTime())) continue;
      t.textContent = format.format(when);
      t.setAttribute("title", zone);
      t.setAttribute("data-local", "");
    }
  }
  localTimes(document);
  document.addEventListener("htmx:load", function (event) {
    localTimes(event.detail.elt.parentNode || event.detail.elt);
  });

  // One-click copy: `data-copy` holds the text; the status beside the button says it worked.
  function say(button, text) {
    var status = button.parentNode && button.parentNode.querySelector(".copy-status");
    if (status) status.textContent = text;
  }
  function copyByHand(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    return ok;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button) return;
    var text = button.getAttribute("data-copy");
    var done = function () { say(button, button.getAttribute("data-copied")); };
    var failed = function () {
      if (copyByHand(text)) done();
      else say(button, button.getAttribute("data-copy-failed"));
    };
    say(button, "");
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, failed);
    } else {
      failed();
    }
  });
})();
