/* The patient's join page: check camera and microphone, then join and wait for the provider. */
(function () {
  "use strict";
  var V = window.ClinicVideo;
  var root = document.getElementById("video");
  if (!root || !V) {
    return;
  }
  var joinButton = document.getElementById("join-now");
  var leaveButton = document.getElementById("leave");
  var local = document.getElementById("local");
  var remote = document.getElementById("remote");
  var tracks = [];
  var room = null;

  function show(state) {
    V.setState(root, state);
    joinButton.hidden = state !== "ready";
    leaveButton.hidden = ["waiting", "connected"].indexOf(state) < 0;
  }

  function check() {
    if (!V.supported() || (window.Twilio.Video.isSupported === false)) {
      show("unsupported");
      return;
    }
    show("checking");
    V.localTracks().then(function (created) {
      tracks = created;
      tracks.forEach(function (track) { if (track.kind === "video") { V.attach(track, local); } });
      show("ready");
    }).catch(function (error) {
      show(V.classify(error));
    });
  }

  function join() {
    show("connecting");
    V.post(root.dataset.tokenUrl, root.dataset.csrf).then(function (grant) {
      return V.connect(grant, tracks);
    }).then(function (connected) {
      room = connected;
      root.dataset.room = room.name;
      V.watch(room, remote, function (participants) {
        var provider = participants.some(function (p) { return !V.isPatient(p); });
        show(provider ? "connected" : "waiting");
      });
      room.on("disconnected", function () {
        V.detachAll(tracks);
        show("left");
      });
    }).catch(function (error) {
      var refusal = error && error.body && error.body.refusal;
      if (refusal === "too-early") {
        show("too-early");
      } else if (refusal === "ended" || refusal === "not-active") {
        show("ended");
      } else {
        root.dataset.error = (error && (error.code || error.status)) || "";
        show("failed");
      }
    });
  }

  joinButton.addEventListener("click", join);
  leaveButton.addEventListener("click", function () {
    if (room) {
      room.disconnect();
    }
  });
  window.addEventListener("pagehide", function () {
    if (room) {
      room.disconnect();
    }
  });
  check();
})();
