// The agent workspace: the live event stream, the screen-pop, presence and wrap-up without reloads.
// Without JavaScript the page still works (forms post and redirect); this makes it live.
(function () {
  "use strict";
  var root = document.getElementById("workspace");
  if (!root || !window.EventSource) { return; }
  var data = root.dataset;
  var screen = document.getElementById("screenpop");
  var state = document.getElementById("stream-state");
  var recent = document.getElementById("recent-calls");
  var baseTitle = document.title;
  var source = null;
  var reopenTimer = null;

  // What tests and people can inspect from the console: the ids received, in order.
  var live = window.hotline.screenpop = {received: [], lastEventId: null};

  function setState(name) {
    state.dataset.state = name;
    state.textContent = data["text" + name.charAt(0).toUpperCase() + name.slice(1)];
  }

  function offerUrl(id) { return data.offerUrl.replace(/0$/, String(id)); }

  // Fetch the caller's card (rendered by the server, so it is the same as on a page reload).
  function showOffer(id, announce) {
    return fetch(offerUrl(id), {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (resp) { if (!resp.ok) { throw new Error("card " + id + ": " + resp.status); } return resp.text(); })
      .then(function (html) {
        screen.innerHTML = html;
        document.getElementById("incoming-banner").hidden = true;
        var card = document.getElementById("pop");
        if (announce) {
          document.title = "☎ " + data.incoming + " · " + baseTitle;
          if (card) {
            card.classList.add("ringing");
            // Bring the card to the keyboard, unless the agent is typing somewhere else.
            var typing = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
            if (!typing) { card.focus(); }
          }
        }
      })
      .catch(function (err) { console.error(err); });
  }

  function addRecent(ev) {
    var card = (ev.payload && ev.payload.card) || {};
    var none = recent.querySelector("li.none");
    if (none) { none.remove(); }
    var li = document.createElement("li");
    li.dataset.eventId = ev.id;
    var a = document.createElement("a");
    a.href = "#";
    a.dataset.showOffer = ev.id;
    // The hotline's time zone (TIMEZONE), as the server shows times, not the browser's own.
    var hhmm = new Date().toLocaleTimeString("en-GB", {timeZone: data.timezone, hour: "2-digit", minute: "2-digit",
                                                        hour12: false});
    a.textContent = hhmm + " · " + (card.caller_display || "") + (card.name ? " · " + card.name : "");
    li.appendChild(a);
    recent.insertBefore(li, recent.firstChild);
  }

  function showPresence(presence, extension) {
    root.querySelectorAll(".presence-buttons button").forEach(function (b) {
      var on = b.value === presence;
      b.classList.toggle("on", on);
      b.setAttribute("aria-pressed", on ? "true" : "false");
    });
    // on_call / wrap_up: set by a softphone call, shown next to the buttons (none of them is on).
    var call = document.getElementById("presence-call");
    var byCall = !root.querySelector(".presence-buttons button[value='" + presence + "']");
    call.hidden = !byCall;
    call.dataset.state = byCall ? presence : "";
    call.textContent = byCall ? (data["textPresence" + presence.charAt(0).toUpperCase() + presence.slice(1)] || presence) : "";
    var ext = document.getElementById("extension");
    if (typeof extension === "string" && document.activeElement !== ext) { ext.value = extension; }
  }

  // A wrap-up with typed notes or a chosen disposition that is not saved yet.
  function unsavedWrapUp() {
    var form = document.getElementById("wrapup-form");
    return !!(form && form.dataset.dirty === "yes");
  }

  // A new call while the agent is still writing up the last one: announce it, keep their notes.
  function announce(ev) {
    var card = (ev.payload && ev.payload.card) || {};
    var bar = document.getElementById("incoming-banner");
    bar.querySelector("[data-caller]").textContent =
      (card.caller_display || "") + (card.name ? " · " + card.name : "");
    bar.dataset.eventId = ev.id;
    bar.hidden = false;
    document.title = "☎ " + data.incoming + " · " + baseTitle;
  }

  function onEvent(msg) {
    var ev;
    try { ev = JSON.parse(msg.data); } catch (e) { console.error("bad event", msg.data); return; }
    if (live.received.indexOf(ev.id) >= 0) { return; }     // already shown (a replay after a reconnect)
    live.received.push(ev.id);
    live.lastEventId = msg.lastEventId;
    if (ev.kind === "offer") {
      addRecent(ev);
      if (unsavedWrapUp()) { announce(ev); } else { showOffer(ev.id, true); }
    } else if (ev.kind === "presence") {
      showPresence(ev.payload.presence, ev.payload.extension);
    } else if (ev.payload && ev.payload.call_id) {
      callChanged(ev.kind, ev.payload.call_id);
    }
  }

  // Queue events about a call on screen (connect, complete, abandon from the AMI listener or
  // Twilio): redraw its card, which shows the call's state; a missed call leaves the screen.
  function callChanged(kind, callId) {
    var card = document.getElementById("pop");
    if (!card || card.dataset.callId !== String(callId)) { return; }
    if (kind === "missed") {
      var note = document.createElement("p");
      note.className = "card waiting";
      note.dataset.testid = "missed";
      note.textContent = data.textMissed;
      screen.replaceChildren(note);
      document.title = baseTitle;
      return;
    }
    showOffer(card.dataset.eventId, false);
  }

  function open() {
    clearTimeout(reopenTimer);
    setState("connecting");
    source = new EventSource(data.streamUrl);
    source.onopen = function () { setState("live"); };
    source.onmessage = onEvent;
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // The server refused the stream (logged out, or down): the browser will not retry by
        // itself. Try again later; a reconnect resumes after the last id received.
        setState("closed");
        if (live.lastEventId) { data.streamUrl = data.streamUrl.replace(/after=\d*/, "after=" + live.lastEventId); }
        reopenTimer = setTimeout(open, 10000);
      } else {
        setState("reconnecting");   // EventSource reconnects by itself, sending Last-Event-ID
      }
    };
  }

  // Presence buttons and the extension field post without leaving the page (the stream stays up).
  var presenceForm = document.getElementById("presence-form");
  presenceForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var button = e.submitter || presenceForm.querySelector("button.on") || presenceForm.querySelector("button");
    window.hotline.post(data.presenceUrl, {presence: button.value, extension: document.getElementById("extension").value})
      .then(function (resp) { return resp.json().then(function (body) { return [resp.ok, body]; }); })
      .then(function (r) {
        if (r[0]) { showPresence(r[1].presence, r[1].extension); } else { alert(r[1].error); }
      });
  });

  // Remember that the wrap-up has unsaved input, so a new call does not wipe it.
  document.addEventListener("input", function (e) {
    var form = e.target.form;
    if (form && form.id === "wrapup-form") { form.dataset.dirty = "yes"; }
  });

  document.getElementById("incoming-banner").addEventListener("click", function (e) {
    if (e.target.dataset.showIncoming === undefined) { return; }
    showOffer(this.dataset.eventId, true);
  });

  // Wrap-up posts in place, so the card stays while the agent finishes the order.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id !== "wrapup-form") { return; }
    e.preventDefault();
    var out = form.querySelector(".wrapup-state");
    window.hotline.post(form.action, {disposition: form.disposition.value, notes: form.notes.value})
      .then(function (resp) { return resp.json().then(function (body) { return [resp.ok, body]; }); })
      .then(function (r) {
        out.textContent = r[0] ? data.textSaved : r[1].error;
        out.classList.toggle("error", !r[0]);
        if (r[0]) {
          form.dataset.dirty = "no";
          document.title = baseTitle;
          var pop = document.getElementById("pop");
          if (pop) { pop.classList.remove("ringing"); }
        }
      });
  });

  // A recent call: show its card again.
  recent.addEventListener("click", function (e) {
    var id = e.target.dataset && e.target.dataset.showOffer;
    if (!id) { return; }
    e.preventDefault();
    showOffer(id, false);
  });

  open();
})();
