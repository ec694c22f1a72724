// Focus and announcements. No inline script anywhere (strict CSP), so this file is the only
// behaviour besides htmx itself. Everything here is an enhancement: without JavaScript the
// server renders the same messages and error summaries in full pages.
(function () {
  "use strict";

  var STATUS_ID = "status";

  function focusable(el) {
    if (!el.hasAttribute("tabindex") && !/^(INPUT|SELECT|TEXTAREA|BUTTON|A)$/.test(el.tagName)) {
      el.setAttribute("tabindex", "-1");
    }
    return el;
  }

  // What should hold focus in freshly swapped content: the error summary when there are
  // errors, else the first invalid field, else the step's heading.
  function focusTarget(root) {
    return root.querySelector("[data-focus-first]") ||
      root.querySelector("[aria-invalid='true']") ||
      root.querySelector("[data-focus-heading]");
  }

  function visibleHeading(root) {
    var headings = root.querySelectorAll("h1, h2, h3");
    for (var i = 0; i < headings.length; i++) {
      if (!headings[i].closest(".visually-hidden")) return headings[i];
    }
    return null;
  }

  function moveFocus(el) {
    if (!el) return;
    focusable(el).focus();
  }

  // Say `text` through the page's polite live region (#status in base.html).
  function announce(text) {
    var region = document.getElementById(STATUS_ID);
    if (!region || !text) return;
    var p = document.createElement("p");
    p.className = "flash flash--info";
    p.textContent = text;
    region.innerHTML = "";
    region.appendChild(p);
  }

  // The server can also ask for an announcement with `HX-Trigger: {"announce": "Saved"}`.
  document.addEventListener("announce", function (event) {
    var detail = event.detail || {};
    announce(typeof detail === "string" ? detail : detail.value);
  });

  // The element that had focus before a swap that removes it (a pagination link, a wizard
  // button): focus would fall to <body>, so we put it somewhere sensible afterwards.
  var focusWasIn = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    focusWasIn = target && active && active !== document.body && target.contains(active) ? target.id : null;
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    // An outerHTML swap replaces the target element: find its successor by id.
    if (target && !target.isConnected && target.id) target = document.getElementById(target.id);
    if (!target || !target.isConnected) return;
    if (target.id === "htmx-error") {
      target.focus();
      return;
    }
    if (target.id === STATUS_ID) return;  // an out-of-band announcement
    // Swaps that replace a whole step move focus; live search, field checks and filters
    // leave it where the user is typing.
    if (target.id === "wizard" || target.hasAttribute("data-manage-focus")) {
      moveFocus(focusTarget(target));
      return;
    }
    var active = document.activeElement;
    if (focusWasIn === target.id && (!active || active === document.body || !active.isConnected)) {
      moveFocus(focusTarget(target) || visibleHeading(target) || target);
    }
    focusWasIn = null;
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

  // A table wider than the screen scrolls inside its .table-wrap. Keyboard users need to reach
  // that scroller to scroll it, so a wrapper that overflows becomes a labelled, focusable
  // region; one that fits is left alone (no pointless tab stop).
  function markScrollRegions() {
    var wraps = document.querySelectorAll(".table-wrap");
    for (var i = 0; i < wraps.length; i++) {
      var wrap = wraps[i];
      var overflows = wrap.scrollWidth > wrap.clientWidth + 1;
      if (overflows && !wrap.hasAttribute("tabindex")) {
        var section = wrap.closest("section, article, main");
        var heading = section && section.querySelector("h1, h2, h3");
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") + "table, scrolls sideways");
        wrap.setAttribute("data-scroll-region", "");
      } else if (!overflows && wrap.hasAttribute("data-scroll-region")) {
        ["tabindex", "role", "aria-label", "data-scroll-region"].forEach(function (a) { wrap.removeAttribute(a); });
      }
    }
  }
  document.addEventListener("htmx:afterSettle", markScrollRegions);
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(markScrollRegions, 150);
  });

  function onLoad() {
    markScrollRegions();

    // A page that comes back with errors (a plain form post): focus the error summary, as
    // after an htmx swap, so it is read out first.
    var main = document.getElementById("main");
    var summary = main && main.querySelector("[data-focus-first]");
    if (summary) moveFocus(summary);

    // Messages flashed by the server (after a redirect) are in the live region from the
    // start, and screen readers announce only changes. So the messages leave the region and
    // come back a moment later, which is announced; meanwhile an identical copy, hidden from
    // assistive technology, stands in their place so nothing on screen moves.
    var region = document.getElementById(STATUS_ID);
    if (region && region.children.length) {
      var messages = Array.prototype.slice.call(region.children);
      var standIn = document.createElement("div");
      standIn.setAttribute("aria-hidden", "true");
      messages.forEach(function (m) { standIn.appendChild(m.cloneNode(true)); region.removeChild(m); });
      region.parentNode.insertBefore(standIn, region);
      window.setTimeout(function () {
        messages.forEach(function (m) { region.appendChild(m); });
        standIn.parentNode.removeChild(standIn);
      }, 250);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", onLoad);
  else onLoad();
})();
