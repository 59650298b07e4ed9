/* Staff pages: small progressive enhancements. Every page works without this file (and without htmx). */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function debounce(fn, ms) {
    var timer;
    return function () { var args = arguments; clearTimeout(timer); timer = setTimeout(function () { fn.apply(null, args); }, ms); };
  }
  function say(text) {
    var note = document.getElementById("live-note");
    if (note) note.textContent = text;
  }
  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { say("You are signed out. Reload the page to sign in again."); throw new Error("signed out"); }
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  /* htmx (when present) sends the CSRF token as a header and reports refusals. */
  document.addEventListener("htmx:configRequest", function (e) { e.detail.headers["X-CSRF-Token"] = csrf; });
  document.addEventListener("htmx:responseError", function (e) {
    var detail = "";
    try { detail = JSON.parse(e.detail.xhr.responseText).detail; } catch (err) { detail = ""; }
    say(detail || "That did not work. Reload the page and try again.");
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.classList) e.detail.target.classList.add("just-changed");
  });
  /* Buttons that ask first (cancelling an appointment): declining stops the submission, with or without htmx. */
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[data-confirm]") : null;
    if (button && !window.confirm(button.dataset.confirm)) { e.preventDefault(); e.stopPropagation(); }
  }, true);

  /* What an action said in its row (a notice, "Send anyway") stays when the row is refreshed. */
  function keepNotes(old, row) {
    var note = old.querySelector(".actions .notice"), cell = row.querySelector("td.actions");
    if (note && cell && !cell.querySelector(".notice")) cell.appendChild(note.cloneNode(true));
    var anyway = old.querySelector("button[name=override_cap]"), form = row.querySelector("form[action$='/remind']");
    if (anyway && form && !form.querySelector("button[name=override_cap]")) form.appendChild(anyway.cloneNode(true));
  }

  /* Schedule: swap in the rows that changed since the last answer. */
  function pollRows(box) {
    var every = (parseFloat(box.dataset.pollEvery) || 3) * 1000;
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      var ids = Array.prototype.map.call(box.querySelectorAll("tr[data-id]"), function (tr) { return tr.dataset.id; });
      if (!ids.length) return;
      var url = box.dataset.pollUrl + "?since=" + encodeURIComponent(box.dataset.since) + "&ids=" + ids.join(",") +
        "&next=" + encodeURIComponent(box.dataset.next || "");
      getJSON(url).then(function (data) {
        box.dataset.since = data.now;
        var changed = 0;
        Object.keys(data.rows).forEach(function (id) {
          var old = document.getElementById("appt-" + id);
          if (!old) return;
          var tmp = document.createElement("tbody");
          tmp.innerHTML = data.rows[id].trim();
          var row = tmp.firstElementChild;
          old.classList.remove("just-changed");
          if (row) keepNotes(old, row);
          if (!row || row.outerHTML === old.outerHTML) return;
          if (old.contains(document.activeElement)) return; /* never pull a button from under the keyboard */
          old.replaceWith(row);
          row.classList.add("just-changed");
          if (window.htmx) window.htmx.process(row);
          changed += 1;
        });
        if (changed) say(changed + (changed === 1 ? " appointment" : " appointments") + " updated at " + new Date().toLocaleTimeString());
        setTimeout(tick, every);
      }).catch(function () { setTimeout(tick, every * 3); });
    }
    setTimeout(tick, every);
  }

  /* Inbox thread: new messages and status changes, appended or replaced. */
  function pollThread(list) {
    var every = (parseFloat(list.dataset.pollEvery) || 3) * 1000;
    function tick() {
      if (document.hidden) { setTimeout(tick, every); return; }
      getJSON(list.dataset.threadUrl + "?since=" + encodeURIComponent(list.dataset.since)).then(function (data) {
        list.dataset.since = data.now;
        var added = false;
        Object.keys(data.messages).forEach(function (id) {
          var tmp = document.createElement("ul");
          tmp.innerHTML = data.messages[id].trim();
          var item = tmp.firstElementChild, old = document.getElementById("msg-" + id);
          if (old) { if (old.outerHTML !== item.outerHTML) old.replaceWith(item); } else { list.appendChild(item); added = true; }
        });
        if (added) { list.scrollTop = list.scrollHeight; say("New message at " + new Date().toLocaleTimeString()); }
        setTimeout(tick, every);
      }).catch(function () { setTimeout(tick, every * 3); });
    }
    list.scrollTop = list.scrollHeight;
    setTimeout(tick, every);
  }

  /* Any region that refreshes itself (the conversation list). */
  function refresh(box) {
    var every = (parseFloat(box.dataset.refreshEvery) || 10) * 1000;
    setInterval(function () {
      if (document.hidden || box.contains(document.activeElement)) return;
      fetch(box.dataset.refreshUrl, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null && html.trim() !== box.innerHTML.trim()) box.innerHTML = html; })
        .catch(function () {});
    }, every);
  }

  /* SMS segments, as Twilio counts them (GSM-7 unless one character is not; then UCS-2). */
  var GSM = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM_EXT = "\f^{}\\[]~|€";
  function pack(weights, single, part) {
    var total = weights.reduce(function (a, b) { return a + b; }, 0);
    if (!total) return 0;
    if (total <= single) return 1;
    var segments = 1, used = 0;
    weights.forEach(function (w) { if (used + w > part) { segments += 1; used = 0; } used += w; });
    return segments;
  }
  function segmentsOf(text) {
    var chars = Array.from(text), gsm = chars.every(function (c) { return GSM.indexOf(c) >= 0 || GSM_EXT.indexOf(c) >= 0; });
    var weights = chars.map(function (c) { return gsm ? (GSM_EXT.indexOf(c) >= 0 ? 2 : 1) : (c.codePointAt(0) > 0xffff ? 2 : 1); });
    var total = weights.reduce(function (a, b) { return a + b; }, 0);
    return gsm ? { encoding: "GSM-7", characters: total, segments: pack(weights, 160, 153) }
               : { encoding: "UCS-2", characters: total, segments: pack(weights, 70, 67) };
  }
  window.smsSegments = segmentsOf;
  function counter(area) {
    var out = document.getElementById(area.dataset.segments), price = parseFloat(area.dataset.price || "0");
    function update() {
      var info = segmentsOf(area.value.replace(/\r\n/g, "\n"));
      var cost = (info.segments * price).toFixed(4);
      out.textContent = info.characters + " characters · " + info.segments + (info.segments === 1 ? " segment" : " segments") +
        " (" + info.encoding + ") · about $" + cost;
      out.classList.toggle("over", info.segments > 1);
    }
    area.addEventListener("input", update);
    update();
  }

  /* Configuration: the template's text, segments and cost, rendered by the server as it will be sent. */
  function preview(area) {
    var box = document.getElementById(area.dataset.previewTarget);
    var update = debounce(function () {
      fetch(area.dataset.previewUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ template: area.value, language: area.dataset.language })
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
        if (!data) return;
        box.querySelector(".text").textContent = data.body || "";
        box.querySelector(".figures").textContent = data.summary;
        var list = box.querySelector(".problems");
        list.innerHTML = "";
        (data.problems || []).forEach(function (p) { var li = document.createElement("li"); li.textContent = p; list.appendChild(li); });
      }).catch(function () {});
    }, 250);
    area.addEventListener("input", update);
  }

  /* Dashboard: Chart.js when it is there; the tables beside the charts stay either way. */
  function chart(canvas) {
    if (!window.Chart) { canvas.hidden = true; return; }
    var spec = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
    spec.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, spec.options || {});
    new window.Chart(canvas, spec);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll-url]").forEach(pollRows);
    document.querySelectorAll("[data-thread-url]").forEach(pollThread);
    document.querySelectorAll("[data-refresh-url]").forEach(refresh);
    document.querySelectorAll("textarea[data-segments]").forEach(counter);
    document.querySelectorAll("textarea[data-preview-url]").forEach(preview);
    document.querySelectorAll("canvas[data-chart]").forEach(chart);
  });
})();
