/* opsdesk dashboard: SLA countdowns that tick, the queue's live rows, comment drafts kept in the tab.
 * No build step, no dependencies.
 *
 * Every element with data-due (ISO time) shows the time left and carries one of the classes sla-ok,
 * sla-warn (from data-warn on) or sla-breach (from data-due on); data-paused shows "paused". It counts
 * clock time to the deadline; an element with data-resumes (business hours closed until then) hides from
 * that time on. The server's clock is the reference: <body data-now> is the server's time when the page
 * was rendered.
 *
 * The countdowns are timers (role="timer": never read out by themselves); what a screen reader is told, once, in
 * the page's live region (#desk-live), is a countdown turning "at risk" or overdue, and new cases the queue's
 * poll brought in.
 */
(function () {
  "use strict";
  var skew = 0;
  var states = new Map();  // a countdown's case (row id or case key) -> the state last seen, so a change is said once

  function announce(texts) {
    var live = document.getElementById("desk-live");
    if (!live || !texts.length) return;
    var said = texts.slice(0, 3).join("; ") + (texts.length > 3 ? "; and " + (texts.length - 3) + " more" : "");
    live.textContent = said + ".";
  }

  function caseOf(el) {
    var row = el.closest("tr[data-id]");
    var key = row ? row.querySelector(".case-key") : document.getElementById("case-key");
    return {id: row ? row.dataset.id : (key ? key.textContent : ""), key: key ? key.textContent : "this case"};
  }

  /* A countdown first seen is not said (the page shows it); one that turned at risk or overdue since is. */
  function changed(el, state, left) {
    var c = caseOf(el), before = states.get(c.id);
    states.set(c.id, state);
    if (before === undefined || before === state || state === "sla-ok") return null;
    return c.key + (state === "sla-breach" ? " is overdue" : " is at risk: " + span(left) + " left");
  }

  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + "d " + h + "h";
    if (h) return h + "h " + m + "m " + (s % 60) + "s";
    return m ? m + "m " + (s % 60) + "s" : (s % 60) + "s";
  }

  function tick() {
    var now = Date.now() + skew, said = [];
    document.querySelectorAll("[data-due]").forEach(function (el) {
      if (el.dataset.paused) return;
      var due = Date.parse(el.dataset.due);
      var warn = el.dataset.warn ? Date.parse(el.dataset.warn) : NaN;
      var left = due - now;
      var state = left <= 0 ? "sla-breach" : now >= warn ? "sla-warn" : "sla-ok";
      /* "at risk" in words too: not said by its colour alone (WCAG 1.4.1) */
      el.textContent = span(left) + (left <= 0 ? " overdue" : state === "sla-warn" ? " left, at risk" : " left");
      ["sla-ok", "sla-warn", "sla-breach"].forEach(function (c) { el.classList.toggle(c, c === state); });
      el.setAttribute("data-state", state);
      var news = changed(el, state, left);
      if (news) said.push(news);
    });
    announce(said);
    /* Business hours opened again: business time runs, the "off hours" note is over. */
    document.querySelectorAll("[data-resumes]").forEach(function (el) {
      if (now >= Date.parse(el.dataset.resumes)) el.hidden = true;
    });
  }

  /* The queue polls only while nobody is mid-way through something on it (ticked rows, focus in it). */
  function busy(rows) {
    return !!document.querySelector("input[name=case]:checked") || rows.contains(document.activeElement);
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    var rows = e.detail.elt;
    if (rows && rows.id === "queue-rows" && e.detail.requestConfig.verb === "get" && busy(rows)) {
      e.preventDefault();
    }
  });

  /* The session ended while the rows were polled: sign in again and come back to this page (not to the
     fragment, and never with a login form swapped into the table). */
  document.addEventListener("htmx:beforeOnLoad", function (e) {
    var xhr = e.detail.xhr;
    var landed = xhr.status === 401 || (xhr.responseURL || "").indexOf("/login") !== -1;
    if (landed) {
      e.preventDefault();
      window.location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
  });

  var before = null;  // the rows (id:version) before a poll's swap, to mark the new and changed ones
  document.addEventListener("htmx:beforeSwap", function (e) {
    /* A boosted form refused as stale (403, a page saying so): show that page, as a plain post would. */
    if (e.detail.xhr.status === 403 && e.detail.boosted) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
      return;
    }
    if (e.detail.target && e.detail.target.id === "queue-rows") {
      var poll = e.detail.requestConfig && e.detail.requestConfig.verb === "get";
      if (poll && busy(e.detail.target)) {  // rows ticked while the poll was on its way: keep the ticks
        e.detail.shouldSwap = false;
        return;
      }
      before = new Set(Array.from(e.detail.target.querySelectorAll("tr[data-id]")).map(function (r) {
        return r.dataset.id + ":" + r.dataset.version;
      }));
    }
  });
  /* A boosted link or form swapped a page in without loading one: the focus goes to its heading, as a load
     takes it to the page's top, so that a screen reader says where one is and Tab goes on from there. */
  function landed() {
    var heading = document.querySelector("main h1");
    if (!heading) return;
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail && e.detail.boosted) landed();
    var rows = document.getElementById("queue-rows"), total = document.getElementById("queue-total");
    if (rows && total && rows.dataset.total) total.textContent = rows.dataset.total;
    if (before) {
      var ids = new Set(Array.from(before, function (k) { return k.split(":")[0]; })), arrived = 0;
      document.querySelectorAll("#queue-rows tr[data-id]").forEach(function (r) {
        if (!before.has(r.dataset.id + ":" + r.dataset.version)) r.classList.add("fresh");
        if (!ids.has(r.dataset.id)) arrived += 1;
      });
      before = null;
      if (arrived) announce([arrived + " new case" + (arrived === 1 ? "" : "s") + " in the queue"]);
    }
    restoreDrafts();
    tick();
  });

  /* A comment's draft is kept in the tab (sessionStorage, under the person and the case's key) until it is
     posted, so that a session ending while it is typed loses nothing: signing in again comes back to the page,
     and the box gets it back. Never on the server, which would keep input nobody signed in for. Sign out
     removes the drafts of every tab of the desk (a localStorage signal carries no text), as it leaves no copy
     of a page. */
  var DRAFT = "opsdesk-draft:", SIGNED_OUT = "opsdesk-signed-out";
  function restoreDrafts() {
    document.querySelectorAll("textarea[data-draft]").forEach(function (box) {
      var key = DRAFT + box.dataset.draft;
      if (box.hasAttribute("data-posted")) sessionStorage.removeItem(key);
      else if (!box.value && sessionStorage.getItem(key)) box.value = sessionStorage.getItem(key);
    });
  }
  function dropDrafts() {
    Object.keys(sessionStorage).forEach(function (k) { if (k.indexOf(DRAFT) === 0) sessionStorage.removeItem(k); });
  }
  document.addEventListener("input", function (e) {
    var box = e.target;
    if (!box || !box.dataset || box.dataset.draft === undefined) return;
    if (box.value) sessionStorage.setItem(DRAFT + box.dataset.draft, box.value);
    else sessionStorage.removeItem(DRAFT + box.dataset.draft);
  });
  document.addEventListener("submit", function (e) {
    if (new URL(e.target.action, location.href).pathname !== "/logout") return;
    dropDrafts();
    localStorage.setItem(SIGNED_OUT, String(Date.now()));  // the other tabs hear it (a "storage" event)
    localStorage.removeItem(SIGNED_OUT);
  });
  window.addEventListener("storage", function (e) { if (e.key === SIGNED_OUT && e.newValue) dropDrafts(); });

  /* Delegated, so it keeps working after htmx swaps the page in (boosted navigation). */
  document.addEventListener("change", function (e) {
    var all = e.target;
    if (all && all.id === "select-all") {
      document.querySelectorAll("input[name=case]").forEach(function (b) { b.checked = all.checked; });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var serverNow = Date.parse(document.body.dataset.now || "");
    if (!isNaN(serverNow)) skew = serverNow - Date.now();
    restoreDrafts();
    tick();
    setInterval(tick, 1000);
  });
})();
