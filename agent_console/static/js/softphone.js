// The Twilio softphone of the agent workspace (Twilio Voice JS SDK 2.x, loaded before this only
// when Twilio is configured). "Take the next caller" calls the TwiML App, whose voice URL dials
// the agents' queue: Twilio bridges the caller who waited longest, and the caller's card pops
// through the workspace's event stream as for any other call. A callback's click-to-call rings
// the softphone (incoming) before the customer. See docs/twilio-agents.md.
(function () {
  "use strict";
  var box = document.getElementById("softphone");
  if (!box || box.dataset.configured !== "yes") { return; }
  var data = box.dataset;
  var take = document.getElementById("softphone-take");
  var mute = document.getElementById("softphone-mute");
  var hangup = document.getElementById("softphone-hangup");
  var state = document.getElementById("softphone-state");
  var device = null;
  var call = null;

  // What tests and people can inspect: the softphone's state by name.
  window.hotline = window.hotline || {};
  var phone = window.hotline.softphone = {state: "loading"};

  function setState(name, detail) {
    phone.state = name;
    state.dataset.state = name;
    state.textContent = data["text" + name.charAt(0).toUpperCase() + name.slice(1)] + (detail || "");
  }

  function onCall(busy) {
    take.hidden = busy;
    mute.hidden = !busy;
    hangup.hidden = !busy;
    mute.textContent = data.textMute;
  }

  function fetchToken() {
    return window.hotline.post(data.tokenUrl, {})
      .then(function (resp) { return resp.json().then(function (body) { return [resp.ok, body]; }); })
      .then(function (r) { if (!r[0]) { throw new Error(r[1].error); } return r[1].token; });
  }

  // The SDK could not be fetched (no network, TWILIO_VOICE_SDK_URL wrong): say so, nothing else breaks.
  if (!window.Twilio || !window.Twilio.Device) { setState("nosdk"); return; }

  fetchToken().then(function (token) {
    device = new window.Twilio.Device(token, {closeProtection: true});
    device.on("tokenWillExpire", function () {
      fetchToken().then(function (fresh) { device.updateToken(fresh); })
        .catch(function (err) { setState("error", err.message); });
    });
    device.on("error", function (err) { setState("error", err.message); });
    // A click-to-call (callback worklist) rings this softphone first: the agent asked for it a
    // moment ago, so it is answered at once; while on another call it is declined.
    device.on("incoming", function (c) {
      if (call) { c.reject(); return; }
      take.disabled = true;
      follow(c);
      c.accept();
    });
    device.register();
    take.disabled = false;
    setState("ready");
  }).catch(function (err) { setState("error", err.message); });

  function follow(c) {
    call = c;
    onCall(true);
    c.on("accept", function () { setState("live"); });
    function over() { call = null; onCall(false); take.disabled = false; setState("ended"); }
    c.on("disconnect", over);
    c.on("cancel", over);
    c.on("reject", over);
    c.on("error", function (err) { setState("error", err.message); });
  }

  take.addEventListener("click", function () {
    if (!device || call) { return; }
    take.disabled = true;
    setState("dialing");
    device.connect().then(follow).catch(function (err) { take.disabled = false; setState("error", err.message); });
  });

  hangup.addEventListener("click", function () { if (call) { call.disconnect(); } });

  mute.addEventListener("click", function () {
    if (!call) { return; }
    var muted = !call.isMuted();
    call.mute(muted);
    mute.textContent = muted ? data.textUnmute : data.textMute;
  });
})();
