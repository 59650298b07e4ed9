/* Video visits on the Twilio Video SDK (served locally): camera/microphone check, joining, who is in the room.
   Shared by the patient's join page, the provider's visit page and the set-up test chat. No patient data here. */
(function () {
  "use strict";

  var V = (window.ClinicVideo = {});

  V.setState = function (root, state, text) {
    root.dataset.state = state;
    var box = root.querySelector("[data-status]");
    if (box) {
      box.textContent = text || (root.dataset["msg" + state.replace(/(^|-)(\w)/g, function (_m, _d, c) { return c.toUpperCase(); })] || state);
    }
  };

  /* "unsupported" when the browser cannot do WebRTC (or the SDK did not load). */
  V.supported = function () {
    return !!(window.Twilio && window.Twilio.Video && navigator.mediaDevices &&
      navigator.mediaDevices.getUserMedia && window.RTCPeerConnection);
  };

  /* A getUserMedia failure as one of: denied, no-device, unsupported. */
  V.classify = function (error) {
    var name = (error && error.name) || "";
    if (name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError") {
      return "denied";
    }
    if (name === "NotFoundError" || name === "DevicesNotFoundError" || name === "OverconstrainedError" ||
        name === "NotReadableError" || name === "TrackStartError") {
      return "no-device";
    }
    return name === "TypeError" ? "unsupported" : "no-device";
  };

  /* Ask for camera and microphone; resolves with the SDK's local tracks. */
  V.localTracks = function () {
    return window.Twilio.Video.createLocalTracks({ audio: true, video: { width: 640, height: 480 } });
  };

  V.attach = function (track, container) {
    if (!container || typeof track.attach !== "function") {
      return;
    }
    var element = track.attach();
    element.dataset.trackKind = track.kind;
    container.appendChild(element);
  };

  V.detachAll = function (tracks) {
    (tracks || []).forEach(function (track) {
      if (typeof track.detach === "function") {
        track.detach().forEach(function (el) { el.remove(); });
      }
    });
  };

  /* POST expecting JSON; rejects with {status, body} when the answer is not 2xx. */
  V.post = function (url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          throw { status: response.status, body: data };
        }
        return data;
      });
    });
  };

  /* Connect with a grant from our server ({token, room, ws_server?}). With the simulator standing in for Twilio,
     `ws_server` points the SDK's signalling at it (media does not flow there: it has no media server). */
  V.connect = function (grant, tracks) {
    var options = { name: grant.room, tracks: tracks || [] };
    if (grant.ws_server) {
      options.wsServer = grant.ws_server;
      options.insights = false;
    }
    return window.Twilio.Video.connect(grant.token, options);
  };

  /* Calls onChange(remoteParticipants) now and whenever someone joins or leaves; attaches remote media. */
  V.watch = function (room, container, onChange) {
    function subscribed(participant) {
      participant.on("trackSubscribed", function (track) { V.attach(track, container); });
      participant.on("trackUnsubscribed", function (track) { V.detachAll([track]); });
      participant.tracks.forEach(function (publication) {
        if (publication.track) {
          V.attach(publication.track, container);
        }
      });
    }
    function changed() {
      onChange(Array.from(room.participants.values()));
    }
    room.participants.forEach(subscribed);
    room.on("participantConnected", function (p) { subscribed(p); changed(); });
    room.on("participantDisconnected", changed);
    changed();
  };

  V.isPatient = function (participant) {
    return /^patient-/.test(participant.identity);
  };
})();
