/* Staff video pages: the provider's visit page and the set-up test chat (two ends on one page). */
(function () {
  "use strict";
  var V = window.ClinicVideo;

  function problem(error) {
    var box = document.getElementById("problem");
    var body = error && error.body;
    var text = (body && body.detail && (body.detail.message || body.detail)) || (error && error.message) || "";
    box.textContent = typeof text === "string" ? text : JSON.stringify(text);
    box.hidden = !text;
  }

  function providerPage(root) {
    var start = document.getElementById("start");
    var leave = document.getElementById("leave");
    var tracks = [];
    var room = null;
    function show(state) {
      V.setState(root, state);
      start.hidden = state !== "ready";
      leave.hidden = ["waiting", "connected"].indexOf(state) < 0;
    }
    if (!V.supported()) {
      show("unsupported");
      return;
    }
    V.localTracks().then(function (created) {
      tracks = created;
      tracks.forEach(function (t) { if (t.kind === "video") { V.attach(t, document.getElementById("local")); } });
      show("ready");
    }).catch(function (error) { show(V.classify(error)); });
    start.addEventListener("click", function () {
      show("connecting");
      V.post(root.dataset.startUrl, root.dataset.csrf).then(function (grant) {
        return V.connect(grant, tracks);
      }).then(function (connected) {
        room = connected;
        root.dataset.room = room.name;
        V.watch(room, document.getElementById("remote"), function (participants) {
          show(participants.some(V.isPatient) ? "connected" : "waiting");
        });
        room.on("disconnected", function () { V.detachAll(tracks); show("left"); });
      }).catch(function (error) { problem(error); show("failed"); });
    });
    leave.addEventListener("click", function () { if (room) { room.disconnect(); } });
  }

  function testChat(root) {
    var start = document.getElementById("start");
    var ends = [document.getElementById("end-a"), document.getElementById("end-b")];
    var rooms = [];
    function endState(end, state, text) {
      end.dataset.state = state;
      end.querySelector("[data-end-status]").textContent = text;
    }
    function refresh(visitId) {
      fetch("/api/setup/test-chat/" + visitId, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var body = document.getElementById("events");
          body.textContent = "";
          (data.events || []).forEach(function (e) {
            var row = document.createElement("tr");
            [e.event, e.identity || "", e.at].forEach(function (v) {
              var cell = document.createElement("td");
              cell.textContent = v;
              row.appendChild(cell);
            });
            body.appendChild(row);
          });
          root.dataset.events = (data.events || []).map(function (e) { return e.event; }).join(" ");
        });
    }
    function connectEnd(end, grant) {
      return V.localTracks().catch(function () { return []; }).then(function (tracks) {
        tracks.forEach(function (t) { if (t.kind === "video") { V.attach(t, end.querySelector(".media")); } });
        return V.connect(grant, tracks);
      }).then(function (room) {
        rooms.push(room);
        endState(end, "connected", "connected as " + room.localParticipant.identity);
        V.watch(room, end.querySelector(".media"), function (participants) {
          if (participants.length) {
            endState(end, "sees-other", "connected, sees " + participants[0].identity);
          }
          if (ends.every(function (e) { return e.dataset.state === "sees-other"; })) {
            V.setState(root, "connected");
          }
        });
        return room;
      });
    }
    start.addEventListener("click", function () {
      if (!V.supported()) {
        V.setState(root, "unsupported");
        return;
      }
      start.disabled = true;
      problem(null);
      rooms.forEach(function (r) { r.disconnect(); });
      rooms = [];
      V.setState(root, "connecting");
      V.post(root.dataset.startUrl, root.dataset.csrf).then(function (chat) {
        root.dataset.visit = chat.visit_id;
        var poll = setInterval(function () { refresh(chat.visit_id); }, 1000);
        setTimeout(function () { clearInterval(poll); }, 120000);
        return Promise.all([connectEnd(ends[0], chat.ends[0]), connectEnd(ends[1], chat.ends[1])]);
      }).catch(function (error) {
        problem(error);
        root.dataset.error = (error && (error.code || error.status)) || "";
        V.setState(root, "failed");
      }).then(function () { start.disabled = false; });
    });
  }

  var provider = document.getElementById("provider-video");
  if (provider) {
    providerPage(provider);
  }
  var chat = document.getElementById("test-chat");
  if (chat) {
    testChat(chat);
  }
})();
