// Focus and announcements after htmx swaps. No inline script anywhere (strict CSP), so this
// file is the only behaviour besides htmx itself.
(function () {
  "use strict";

  function focusTarget(root) {
    var summary = root.querySelector("[data-focus-first]");
    if (summary) return summary;
    var invalid = root.querySelector("[aria-invalid='true']");
    if (invalid) return invalid;
    return root.querySelector("[data-focus-heading]");
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    // An outerHTML swap replaces the target element: find its successor by id.
    if (target && !target.isConnected && target.id) target = document.getElementById(target.id);
    if (!target || !target.isConnected) return;
    if (target.id === "htmx-error") {
      target.focus();
      return;
    }
    // Only swaps that replace a whole step move focus; live search, field checks and filters
    // leave it where the user is typing.
    if (target.id !== "wizard" && !target.hasAttribute("data-manage-focus")) return;
    var next = focusTarget(target);
    if (next) {
      if (!next.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(next.tagName)) {
        next.setAttribute("tabindex", "-1");
      }
      next.focus();
    }
  });

  // A successful request clears an old error message.
  document.addEventListener("htmx:beforeRequest", function () {
    var region = document.getElementById("htmx-error");
    if (region) region.innerHTML = "";
  });

  // Network failure (server unreachable): say so in place instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var region = document.getElementById("htmx-error");
    if (!region) return;
    region.innerHTML = "";
    var box = document.createElement("div");
    box.className = "notice notice--error";
    var p = document.createElement("p");
    p.textContent = "We could not reach the server. Check your connection and try again; nothing you entered has been lost.";
    box.appendChild(p);
    region.appendChild(box);
    region.focus();
  });
})();
