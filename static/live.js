// upwatch live updates. Every page works without this file; with it:
//
//  - relative times ("3 min ago") stay fresh;
//  - on pages with <body data-live="/api/v1/live"> a WebSocket feed updates
//    the status, latency and last-check fields in place, and re-fetches the
//    page (throttled) to swap in the server-rendered [data-live-region]
//    elements when a state changes.
//
// It never builds HTML from strings: it sets text and attributes, or moves
// in elements the server rendered (parsed with DOMParser, which runs no
// scripts).
(function () {
  "use strict";

  var doc = document;
  var body = doc.body;
  // Mirrors views.StatusLabel. A degraded monitor passes its checks: it
  // keeps the "up" tab icon, only "down" turns it red.
  var LABELS = { up: "Up", degraded: "Degraded", down: "Down", pending: "Pending", paused: "Paused", maintenance: "Maintenance", unreachable: "Unreachable", flapping: "Flapping" };
  var skew = 0; // the server's clock minus ours, from <body data-now>

  function readNow(d) {
    var n = Date.parse((d.body && d.body.getAttribute("data-now")) || "");
    if (!isNaN(n)) skew = n - Date.now();
  }

  // rel mirrors views.RelTime.
  function rel(t) {
    var d = Date.now() + skew - t;
    var future = d < 0;
    var s;
    if (future) d = -d;
    if (d < 5000) return "just now";
    if (d < 60000) s = Math.floor(d / 1000) + " s";
    else if (d < 3600000) s = Math.floor(d / 60000) + " min";
    else if (d < 48 * 3600000) s = Math.floor(d / 3600000) + " h";
    else s = Math.floor(d / 86400000) + " d";
    return future ? "in " + s : s + " ago";
  }

  // fullTime mirrors views.FullTime.
  function fullTime(t) {
    return new Date(t).toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // fmtMS mirrors views.FormatMS.
  function fmtMS(v) {
    if (typeof v !== "number" || !isFinite(v) || v < 0) return "—";
    if (v < 1) return v.toFixed(2) + " ms";
    if (v < 10) return v.toFixed(1) + " ms";
    return String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + " ms";
  }

  function setText(el, s) {
    if (el.textContent !== s) el.textContent = s;
  }

  function refreshTimes() {
    var els = doc.querySelectorAll("time[data-relative], [data-field=checked][datetime]");
    for (var i = 0; i < els.length; i++) {
      var t = Date.parse(els[i].getAttribute("datetime"));
      if (!isNaN(t)) setText(els[i], rel(t));
    }
  }

  readNow(doc);
  setInterval(refreshTimes, 15000);
  doc.addEventListener("visibilitychange", function () {
    if (!doc.hidden) refreshTimes();
  });

  // --- live feed ---

  var path = body.getAttribute("data-live");
  if (!path || path.charAt(0) !== "/" || path.charAt(1) === "/" || !window.WebSocket || !window.DOMParser) return;

  var main = doc.getElementById("main");
  var pageID = main && main.getAttribute("data-monitor-id"); // set on a monitor's page
  var indicator = doc.getElementById("live-status");
  var favicon = doc.getElementById("favicon");

  function setIndicator(state, text) {
    if (!indicator) return;
    indicator.setAttribute("data-state", state);
    indicator.title = text;
    var t = indicator.querySelector(".live-text");
    if (t) setText(t, text);
  }

  function setFavicon(state) {
    if (!favicon) return;
    var href = favicon.getAttribute(state === "down" ? "data-icon-down" : state === "up" ? "data-icon-up" : "data-icon");
    if (href && favicon.getAttribute("href") !== href) favicon.setAttribute("href", href);
  }

  // syncCounts puts "(2 down)" in the tab title and turns the tab icon red
  // when the overview's counts say so.
  function syncCounts() {
    var c = doc.querySelector("[data-count=down]");
    if (!c) return;
    var n = parseInt(c.textContent, 10) || 0;
    var base = doc.title.replace(/^\(\d+ down\) /, "");
    doc.title = n > 0 ? "(" + n + " down) " + base : base;
    if (n > 0) setFavicon("down");
  }

  // Elements by monitor id: the overview's rows, or <main> on a monitor's
  // page. Built once per render, so events cost O(1) with 10,000 rows.
  var index = null;
  function elementFor(id) {
    if (!index) {
      index = new Map();
      var els = doc.querySelectorAll("[data-monitor-id]");
      for (var i = 0; i < els.length; i++) index.set(els[i].getAttribute("data-monitor-id"), els[i]);
    }
    var el = index.get(String(id));
    return el && el.isConnected ? el : null;
  }

  function setStatus(el, status) {
    el.setAttribute("data-status", status);
    var pills = el.querySelectorAll("[data-field=status]");
    for (var i = 0; i < pills.length; i++) {
      pills[i].className = "pill pill-" + status;
      var word = pills[i].lastElementChild;
      if (word) setText(word, LABELS[status]);
    }
  }

  // apply updates one monitor's fields from an event; it reports whether
  // the status changed.
  function apply(ev) {
    var el = elementFor(ev.monitor_id);
    if (!el) return false;
    var changed = false;
    var i;
    if (LABELS[ev.status] && el.getAttribute("data-status") !== ev.status) {
      setStatus(el, ev.status);
      changed = true;
    }
    if (ev.type !== "check") return changed;
    if (typeof ev.latency_ms === "number") {
      var lat = el.querySelectorAll("[data-field=latency]");
      for (i = 0; i < lat.length; i++) setText(lat[i], fmtMS(ev.latency_ms));
    }
    var at = Date.parse(ev.at);
    if (!isNaN(at)) {
      var ts = el.querySelectorAll("[data-field=checked]");
      for (i = 0; i < ts.length; i++) {
        ts[i].setAttribute("datetime", new Date(at).toISOString());
        ts[i].title = fullTime(at);
        setText(ts[i], rel(at));
      }
    }
    return changed;
  }

  // --- refresh: re-fetch the page and swap in its live regions ---

  var MIN_GAP = 2000;
  var gap = MIN_GAP; // grows with how long a fetch takes (big overviews)
  var last = 0;
  var pending = false;
  var inflight = false;
  var timer = 0;
  var stopped = false;

  function schedule() {
    if (stopped) return;
    pending = true;
    if (inflight || timer) return; // the trailing run picks it up
    timer = setTimeout(run, Math.max(0, last + gap - Date.now()));
  }

  function run() {
    timer = 0;
    if (!pending || stopped) return;
    pending = false;
    inflight = true;
    var started = Date.now();
    fetch(location.href, { credentials: "same-origin", cache: "no-store", headers: { Accept: "text/html" } })
      .then(function (res) {
        if (res.redirected && new URL(res.url).pathname === "/login") {
          stop("Signed out — reload the page");
          return null;
        }
        if (res.status === 404 && pageID) {
          gone();
          return null;
        }
        return res.ok ? res.text() : null;
      })
      .then(function (text) {
        if (text && !stopped) swap(new DOMParser().parseFromString(text, "text/html"));
      })
      .catch(function () {})
      .then(function () {
        inflight = false;
        last = Date.now();
        gap = Math.min(60000, Math.max(MIN_GAP, 4 * (last - started)));
        if (pending) schedule();
      });
  }

  // focusKey remembers the focused element if a swap would remove it.
  function focusKey(el) {
    if (!el || !el.closest) return null;
    var region = el.closest("[data-live-region]");
    if (!region) return null;
    var row = el.closest("[data-monitor-id]");
    return {
      id: el.id,
      region: region.id,
      row: row && row !== main ? row.getAttribute("data-monitor-id") : null,
      tag: el.tagName,
      cls: el.className,
      href: el.getAttribute("href"),
      action: el.form ? el.form.getAttribute("action") : null
    };
  }

  function restoreFocus(k) {
    if (!k) return;
    var target = k.id ? doc.getElementById(k.id) : null;
    if (!target) {
      var scope = k.row ? elementFor(k.row) : doc.getElementById(k.region);
      var c = scope ? scope.getElementsByTagName(k.tag) : [];
      for (var i = 0; i < c.length && !target; i++) {
        if (c[i].className === k.cls && c[i].getAttribute("href") === k.href &&
            (c[i].form ? c[i].form.getAttribute("action") : null) === k.action) target = c[i];
      }
    }
    if (target && target.focus) target.focus({ preventScroll: true });
  }

  function swap(d) {
    var key = focusKey(doc.activeElement);
    var open = [];
    var i;
    var opened = doc.querySelectorAll("details[open][id]");
    for (i = 0; i < opened.length; i++) open.push(opened[i].id);

    var regions = doc.querySelectorAll("[data-live-region][id]");
    for (i = 0; i < regions.length; i++) {
      var fresh = d.getElementById(regions[i].id);
      if (fresh && fresh.hasAttribute("data-live-region")) regions[i].replaceWith(doc.importNode(fresh, true));
    }
    for (i = 0; i < open.length; i++) {
      var det = doc.getElementById(open[i]);
      if (det) det.open = true;
    }
    var m = d.getElementById("main");
    var st = m && m.getAttribute("data-status");
    if (main && pageID && LABELS[st]) main.setAttribute("data-status", st);
    if (d.title) doc.title = d.title;
    var f = d.getElementById("favicon");
    var href = f && f.getAttribute("href");
    if (favicon && href) favicon.setAttribute("href", href);

    index = null;
    readNow(d);
    syncCounts();
    refreshTimes();
    restoreFocus(key);
  }

  // --- events ---

  function gone() {
    var n = doc.getElementById("deleted-notice");
    if (n) n.hidden = false;
    stop("Monitor deleted");
  }

  function handle(ev) {
    if (Array.isArray(ev)) {
      ev.forEach(handle);
      return;
    }
    if (!ev || typeof ev !== "object" || ev.monitor_id == null) return;
    var mine = pageID !== null && String(ev.monitor_id) === pageID;
    if (ev.type === "deleted") {
      if (pageID !== null) {
        if (mine) gone();
        return;
      }
      var row = elementFor(ev.monitor_id);
      if (row) row.remove();
      index = null;
      schedule();
      return;
    }
    if (ev.type !== "check" && ev.type !== "state") return;
    var changed = apply(ev);
    if (ev.status === "down" && (changed || ev.type === "state")) setFavicon("down");
    // A state change anywhere moves the counts and the tab icon; on a
    // monitor's page every check of it adds to the chart and table.
    if (changed || ev.type === "state" || mine) schedule();
  }

  // --- connection ---

  var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  var ws = null;
  var retry = 1000;
  var retryTimer = 0;
  var openedAt = 0;
  var connectedOnce = false;

  function connect() {
    retryTimer = 0;
    if (stopped || ws) return;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      ws = null;
      later();
      return;
    }
    ws.onopen = function () {
      openedAt = Date.now();
      setIndicator("live", "Live");
      if (connectedOnce) schedule(); // catch up on what we missed
      connectedOnce = true;
    };
    ws.onmessage = function (m) {
      var ev;
      try {
        ev = JSON.parse(m.data);
      } catch (e) {
        return;
      }
      handle(ev);
    };
    ws.onclose = function () {
      ws = null;
      if (stopped) return;
      if (openedAt && Date.now() - openedAt > 10000) retry = 1000;
      openedAt = 0;
      setIndicator("retry", "Reconnecting…");
      later();
    };
  }

  function later() {
    if (stopped || retryTimer) return;
    retryTimer = setTimeout(connect, retry * (0.8 + Math.random() * 0.4));
    retry = Math.min(retry * 2, 30000);
  }

  function close() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    if (ws) {
      var w = ws;
      ws = null;
      w.onclose = null;
      w.close(1000, "page hidden");
    }
  }

  function stop(text) {
    stopped = true;
    clearTimeout(timer);
    close();
    setIndicator("retry", text);
  }

  window.addEventListener("pagehide", function () {
    if (!stopped) close();
  });
  window.addEventListener("pageshow", function (e) {
    if (e.persisted && !stopped) {
      retry = 1000;
      connect();
      schedule();
    }
  });
  window.addEventListener("online", function () {
    if (!stopped && !ws) {
      clearTimeout(retryTimer);
      retry = 1000;
      connect();
    }
  });

  syncCounts();
  setIndicator("connecting", "Connecting…");
  connect();
})();
