// The live-chat widget inside hotro's iframe.  Everything is rendered with textContent (no HTML from
// messages), storage is this iframe's own, and the host page can only send identify/reset/open/close.
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("hotro-widget-config").textContent);
  var T = cfg.texts;
  var base = "/widget/" + encodeURIComponent(cfg.key);
  var STORE = "hotro.lc." + cfg.key;
  var $ = function (id) { return document.getElementById(id); };
  var el = {
    launcher: $("hw-launcher"), panel: $("hw-panel"), close: $("hw-close"), title: $("hw-title"),
    sub: $("hw-sub"), status: $("hw-status"), prechat: $("hw-prechat"), log: $("hw-log"),
    typing: $("hw-typing"), csat: $("hw-csat"), compose: $("hw-compose"), text: $("hw-text"),
    file: $("hw-file"), send: $("hw-send"), announce: $("hw-announce")
  };
  var state = {
    token: null, verified: false, lastEventId: 0, open: false, online: true, prechatDone: false,
    messages: {}, pending: {}, conversations: {}, ws: null, wsFailures: 0, wsOpened: false,
    mode: "ws", ready: false, polling: false, generation: 0, typingSent: 0, identity: null
  };

  document.documentElement.style.setProperty("--hw-color", cfg.color);
  el.launcher.setAttribute("aria-label", T.open);
  el.launcher.textContent = "💬";
  el.close.setAttribute("aria-label", T.close);
  el.title.textContent = cfg.title;
  el.sub.textContent = cfg.greeting || T.online;
  $("hw-attach-label").textContent = T.attach;
  $("hw-text-label").textContent = T.placeholder;
  el.text.placeholder = T.placeholder;
  el.send.textContent = T.send;
  el.log.setAttribute("role", "log");

  // --- storage: unverified token on this device; verified only for this tab (until hotro.reset()) --
  function loadToken() {
    try { return sessionStorage.getItem(STORE + ".v") || (cfg.identity_mandatory ? null : localStorage.getItem(STORE)); }
    catch (e) { return null; }
  }
  function saveToken(token, verified) {
    try {
      if (verified) { sessionStorage.setItem(STORE + ".v", token); }
      else if (!cfg.identity_mandatory) { localStorage.setItem(STORE, token); }
    } catch (e) { /* storage blocked: the session lasts as long as the page */ }
  }
  function forget() {
    try { localStorage.removeItem(STORE); sessionStorage.removeItem(STORE + ".v"); } catch (e) { /* ignore */ }
  }

  // --- parent page relay -----------------------------------------------------------------------------
  function toParent(message) { message.hotro = 1; window.parent.postMessage(message, cfg.parent); }
  var started = false;
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== cfg.parent) return;
    var d = event.data || {};
    if (d.hotro !== 1) return;
    if (d.type === "init") {
      if (d.user_id && d.user_hash) state.identity = { user_id: String(d.user_id), user_hash: String(d.user_hash) };
      if (!started) { started = true; startSession(); }
    } else if (d.type === "identify") {
      state.identity = { user_id: String(d.user_id || ""), user_hash: String(d.user_hash || "") };
      started = true; startSession();
    } else if (d.type === "reset") {
      forget(); state.identity = null; state.token = null; started = true; startSession();
    } else if (d.type === "open") { setOpen(true); }
    else if (d.type === "close") { setOpen(false); }
  });
  toParent({ type: "ready" });
  setTimeout(function () { if (!started) { started = true; startSession(); } }, 1500);

  // --- HTTP ---------------------------------------------------------------------------------------------
  function api(method, path, body, isForm) {
    var headers = { "X-Hotro-Lang": cfg.lang };
    if (state.token) headers["X-Hotro-Visitor"] = state.token;
    if (body && !isForm) headers["Content-Type"] = "application/json";
    return fetch(base + path, {
      method: method, headers: headers, credentials: "omit", cache: "no-store",
      body: body ? (isForm ? body : JSON.stringify(body)) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var err = new Error(data.message || T.error); err.status = r.status; throw err; }
        return data;
      });
    });
  }
  function showStatus(text) { el.status.textContent = text || ""; el.status.hidden = !text; }

  // --- session ------------------------------------------------------------------------------------------
  function startSession() {
    var gen = ++state.generation;
    closeSocket();
    var body = { token: loadToken(), lang: cfg.lang };
    if (state.identity) { body.user_id = state.identity.user_id; body.user_hash = state.identity.user_hash; }
    return api("POST", "/session", body).then(function (data) {
      if (gen !== state.generation) return;
      state.token = data.token; state.verified = data.verified; state.online = data.online;
      state.prechatDone = data.prechat_done;
      if (!data.verified) { try { sessionStorage.removeItem(STORE + ".v"); } catch (e) { /* ignore */ } }
      saveToken(data.token, data.verified);
      state.messages = {}; state.pending = {}; state.conversations = {};
      el.log.textContent = "";
      (data.conversations || []).forEach(function (c) { state.conversations[c.id] = c; });
      (data.messages || []).forEach(function (m) { upsert(m, true); });
      state.lastEventId = data.last_event_id || 0;
      el.sub.textContent = state.online ? (cfg.greeting || T.online) : T.offline;
      if (!state.verified && cfg.identity_mandatory) showStatus(T.history_hidden); else showStatus("");
      renderPrechat(); updateCsat();
      connect();
    }).catch(function (err) {
      if (gen !== state.generation) return;
      showStatus(err.message || T.error);
      if (err.status === 403 && state.identity) { state.identity = null; setTimeout(startSession, 0); }
    });
  }

  // --- live channel: WebSocket, long-poll fallback ------------------------------------------------------
  function closeSocket() {
    if (state.ws) { var ws = state.ws; state.ws = null; ws.onclose = null; ws.close(); }
    state.ready = false;
  }
  function connect() {
    if (state.mode === "poll") { startPolling(); return; }
    var gen = state.generation;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/widget/" + encodeURIComponent(cfg.key) + "/";
    var ws;
    try { ws = new WebSocket(url); } catch (e) { state.mode = "poll"; startPolling(); return; }
    state.ws = ws;
    var opened = false;
    ws.onopen = function () {
      opened = true; state.wsOpened = true; state.wsFailures = 0;
      ws.send(JSON.stringify({ type: "hello", token: state.token, resume_from: state.lastEventId }));
    };
    ws.onmessage = function (e) {
      var data; try { data = JSON.parse(e.data); } catch (x) { return; }
      if (data.type === "ready") { state.ready = true; showStatus(""); flushPending(); }
      else if (data.type === "ack") { ack(data.client_id, data.message); }
      else if (data.type === "error") { failPending(data.client_id, data.message); }
      else if (data.type === "signal") { onSignal(data.event); }
      else if (data.type === "resync") { startSession(); }
      else if (data.id) { onEvent(data.id, data.event); }
    };
    ws.onclose = function (e) {
      if (gen !== state.generation || state.ws !== ws) return;
      state.ws = null; state.ready = false;
      if (e.code === 4403) { startSession(); return; }
      if (!opened) state.wsFailures += 1;
      if (!state.wsOpened && state.wsFailures >= 2) { state.mode = "poll"; startPolling(); return; }
      showStatus(T.reconnecting);
      var delay = Math.min(30000, 500 * Math.pow(2, Math.min(state.wsFailures, 6))) * (0.5 + Math.random());
      setTimeout(function () { if (gen === state.generation) connect(); }, delay);
    };
  }
  function startPolling() {
    if (state.polling) return;
    state.polling = true; state.ready = true; flushPending();
    var gen = state.generation;
    (function loop(delay) {
      setTimeout(function () {
        if (gen !== state.generation) { state.polling = false; return; }
        api("GET", "/poll?after=" + state.lastEventId + "&wait=20").then(function (data) {
          showStatus("");
          (data.events || []).forEach(function (ev) { onEvent(ev.id, ev.event); });
          loop(0);
        }).catch(function (err) {
          showStatus(T.reconnecting);
          if (err.status === 403) { state.polling = false; startSession(); return; }
          loop(Math.min(30000, (delay || 1000) * 2));
        });
      }, delay);
    })(0);
  }

  function onEvent(id, event) {
    if (id <= state.lastEventId && event.kind !== "message") return;
    state.lastEventId = Math.max(state.lastEventId, id);
    if (event.kind === "message" && event.message) {
      var isNew = !state.messages[event.message.id];
      upsert(event.message, false);
      if (isNew && event.message.from === "agent") {
        el.typing.textContent = "";
        if (!state.open) el.launcher.classList.add("hw-unread");
        markRead(event.message.conversation_id);
      }
    } else if (event.kind === "conversation") {
      var c = state.conversations[event.conversation_id] || { id: event.conversation_id, rated: false };
      c.status = event.status; state.conversations[c.id] = c; updateCsat();
    }
  }
  function onSignal(event) {
    if (event.kind === "typing") {
      var name = (event.agent && event.agent.name) || T.agent;
      el.typing.textContent = event.typing ? T.typing.replace("%(name)s", name) : "";
      clearTimeout(onSignal.timer);
      onSignal.timer = setTimeout(function () { el.typing.textContent = ""; }, 6000);
    }
  }

  // --- rendering ------------------------------------------------------------------------------------------
  function upsert(m, quiet) {
    if (m.client_id && state.pending[m.client_id]) {
      var p = state.pending[m.client_id]; delete state.pending[m.client_id];
      if (p.node) p.node.remove();
    }
    var existing = state.messages[m.id];
    if (existing) { existing.data = m; paintStatus(existing); return; }
    if (!state.conversations[m.conversation_id]) state.conversations[m.conversation_id] = { id: m.conversation_id, status: "open", rated: false };
    var node = bubble(m.from, m.text, m.agent, m.attachments);
    node.dataset.id = m.id;
    var entry = { data: m, node: node };
    state.messages[m.id] = entry;
    paintStatus(entry);
    el.log.appendChild(node);
    el.log.scrollTop = el.log.scrollHeight;
    if (!quiet && m.from === "agent" && !state.open) {
      el.announce.textContent = T.new_message.replace("%(name)s", (m.agent && m.agent.name) || T.agent).replace("%(text)s", m.text.slice(0, 140));
    }
  }
  function bubble(from, text, agent, attachments) {
    var li = document.createElement("li");
    li.className = "hw-msg hw-" + from;
    if (from === "agent") {
      var who = document.createElement("span"); who.className = "hw-who";
      var avatar = document.createElement("span"); avatar.className = "hw-avatar"; avatar.setAttribute("aria-hidden", "true");
      avatar.textContent = (agent && agent.initials) || "•";
      who.appendChild(avatar);
      who.appendChild(document.createTextNode((agent && agent.name) || T.agent));
      li.appendChild(who);
    } else {
      var me = document.createElement("span"); me.className = "hw-sr"; me.textContent = T.you + ": "; li.appendChild(me);
    }
    if (text) { var p = document.createElement("p"); p.className = "hw-text"; p.textContent = text; li.appendChild(p); }
    (attachments || []).forEach(function (a) { li.appendChild(attachmentNode(a)); });
    var st = document.createElement("span"); st.className = "hw-state"; li.appendChild(st);
    return li;
  }
  function attachmentNode(a) {
    var box = document.createElement("div"); box.className = "hw-file";
    var button = document.createElement("button"); button.type = "button"; button.className = "hw-file-btn";
    button.textContent = a.filename || T.attachment;
    button.addEventListener("click", function () {
      fetchFile(a).then(function (url) {
        var link = document.createElement("a"); link.href = url; link.download = a.filename || "file"; link.click();
      });
    });
    box.appendChild(button);
    if (/^image\//.test(a.content_type)) {
      fetchFile(a).then(function (url) {
        var img = document.createElement("img"); img.src = url; img.alt = a.filename || T.attachment; img.className = "hw-img";
        box.insertBefore(img, button);
      });
    }
    return box;
  }
  var fileCache = {};
  function fetchFile(a) {
    if (!fileCache[a.id]) {
      fileCache[a.id] = fetch(base + "/files/" + a.id, { headers: { "X-Hotro-Visitor": state.token }, credentials: "omit" })
        .then(function (r) { if (!r.ok) throw new Error(T.error); return r.blob(); })
        .then(function (b) { return URL.createObjectURL(b); });
    }
    return fileCache[a.id];
  }
  function paintStatus(entry) {
    var st = entry.node.querySelector(".hw-state");
    var m = entry.data;
    if (!st) return;
    if (m.from === "visitor") st.textContent = m.status === "read" ? T.read : T.sent;
    else st.textContent = "";
  }

  // --- sending ---------------------------------------------------------------------------------------------
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)); b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  function sendText(text) {
    var id = uuid();
    var node = bubble("visitor", text, null, []);
    node.classList.add("hw-pending");
    node.querySelector(".hw-state").textContent = T.sending;
    el.log.appendChild(node);
    el.log.scrollTop = el.log.scrollHeight;
    state.pending[id] = { text: text, node: node, inflight: false };
    node.addEventListener("click", function () {
      var p = state.pending[id];
      if (p && p.failed) { p.failed = false; node.querySelector(".hw-state").textContent = T.sending; deliver(id); }
    });
    deliver(id);
  }
  function deliver(id) {
    var p = state.pending[id];
    if (!p || !state.ready) return;
    if (state.mode === "ws" && state.ws && state.ws.readyState === 1) {
      state.ws.send(JSON.stringify({ type: "message", client_id: id, text: p.text }));
    } else if (state.mode === "poll") {
      api("POST", "/messages", { client_id: id, text: p.text }).then(function (d) { ack(id, d.message); })
        .catch(function (err) { failPending(id, err.message); });
    }
  }
  function flushPending() { Object.keys(state.pending).forEach(function (id) { if (!state.pending[id].failed) deliver(id); }); }
  function ack(clientId, message) { if (message) upsert(message, true); else delete state.pending[clientId]; }
  function failPending(clientId, text) {
    var p = clientId && state.pending[clientId];
    if (!p) { showStatus(text); return; }
    p.failed = true;
    p.node.querySelector(".hw-state").textContent = (text ? text + " " : "") + T.failed;
  }
  function sendFile(file) {
    if (file.size > cfg.max_upload) { showStatus(T.file_too_big); return; }
    var form = new FormData();
    form.append("client_id", uuid()); form.append("text", ""); form.append("files", file, file.name);
    showStatus(T.sending);
    api("POST", "/messages", form, true).then(function (d) { showStatus(""); upsert(d.message, true); })
      .catch(function (err) { showStatus(err.message); });
  }
  function markRead(conversationId) {
    if (!state.open || document.hidden || !conversationId) return;
    if (state.mode === "ws" && state.ws && state.ready) state.ws.send(JSON.stringify({ type: "read", conversation_id: conversationId }));
    else api("POST", "/signal", { type: "read", conversation_id: conversationId }).catch(function () {});
  }
  function currentConversation() {
    var ids = Object.keys(state.conversations);
    for (var i = ids.length - 1; i >= 0; i--) if (state.conversations[ids[i]].status !== "resolved") return ids[i];
    return null;
  }
  function sendTyping(typing) {
    var c = currentConversation();
    if (!c) return;
    var now = Date.now();
    if (typing && now - state.typingSent < 2500) return;
    state.typingSent = typing ? now : 0;
    if (state.mode === "ws" && state.ws && state.ready) state.ws.send(JSON.stringify({ type: "typing", conversation_id: c, typing: typing }));
    else api("POST", "/signal", { type: "typing", conversation_id: c, typing: typing }).catch(function () {});
  }

  // --- pre-chat form and rating -------------------------------------------------------------------------------
  function field(form, name, label, type, required) {
    var id = "hw-f-" + name;
    var l = document.createElement("label"); l.setAttribute("for", id); l.textContent = label + (required ? " *" : "");
    var i = document.createElement("input"); i.id = id; i.name = name; i.type = type; i.required = !!required;
    i.maxLength = name === "email" ? 254 : (name === "phone" ? 40 : 120);
    i.autocomplete = name === "name" ? "name" : (name === "email" ? "email" : "tel");
    form.appendChild(l); form.appendChild(i);
  }
  function checkbox(form, name, label, required) {
    var wrap = document.createElement("label"); wrap.className = "hw-check";
    var i = document.createElement("input"); i.type = "checkbox"; i.name = name; i.required = !!required;
    wrap.appendChild(i); wrap.appendChild(document.createTextNode(" " + label));
    form.appendChild(wrap);
  }
  function renderPrechat() {
    var need = !state.prechatDone && (cfg.prechat.enabled || !state.online);
    el.prechat.hidden = !need; el.compose.hidden = need;
    if (!need) return;
    var form = el.prechat; form.textContent = "";
    var fields = cfg.prechat.fields.slice();
    if (!state.online && fields.indexOf("email") < 0) fields.push("email");
    fields.forEach(function (f) {
      var required = cfg.prechat.required.indexOf(f) >= 0 || (f === "email" && !state.online);
      field(form, f, T[f], f === "email" ? "email" : (f === "phone" ? "tel" : "text"), required);
    });
    checkbox(form, "privacy_consent", T.privacy, true);
    if (cfg.privacy_url) {
      var a = document.createElement("a"); a.href = cfg.privacy_url; a.target = "_blank"; a.rel = "noopener noreferrer";
      a.textContent = T.privacy_link; form.appendChild(a);
    }
    checkbox(form, "marketing_consent", T.marketing, false);
    var b = document.createElement("button"); b.type = "submit"; b.textContent = T.start; form.appendChild(b);
  }
  el.prechat.addEventListener("submit", function (e) {
    e.preventDefault();
    var f = el.prechat.elements;
    var body = {
      name: f.name ? f.name.value : "", email: f.email ? f.email.value : "", phone: f.phone ? f.phone.value : "",
      privacy_consent: f.privacy_consent.checked, marketing_consent: f.marketing_consent.checked
    };
    api("POST", "/prechat", body).then(function () {
      state.prechatDone = true; showStatus(""); renderPrechat(); el.text.focus();
    }).catch(function (err) { showStatus(err.message); });
  });
  function updateCsat() {
    var target = null;
    Object.keys(state.conversations).forEach(function (id) {
      var c = state.conversations[id];
      if (c.status === "resolved" && !c.rated) target = c;
    });
    el.csat.hidden = !target;
    if (!target) return;
    var form = el.csat; form.textContent = "";
    form.dataset.conversation = target.id;
    var fs = document.createElement("fieldset");
    var lg = document.createElement("legend"); lg.textContent = T.rate; fs.appendChild(lg);
    for (var n = 1; n <= 5; n++) {
      var l = document.createElement("label"); l.className = "hw-star";
      var r = document.createElement("input"); r.type = "radio"; r.name = "rating"; r.value = String(n); r.required = true;
      l.appendChild(r); l.appendChild(document.createTextNode(" " + n + "★"));
      l.title = T.rate_star.replace("%(n)s", n);
      fs.appendChild(l);
    }
    form.appendChild(fs);
    var cl = document.createElement("label"); cl.setAttribute("for", "hw-comment"); cl.textContent = T.comment; form.appendChild(cl);
    var ta = document.createElement("textarea"); ta.id = "hw-comment"; ta.name = "comment"; ta.maxLength = 2000; form.appendChild(ta);
    var b = document.createElement("button"); b.type = "submit"; b.textContent = T.rate_send; form.appendChild(b);
  }
  el.csat.addEventListener("submit", function (e) {
    e.preventDefault();
    var id = el.csat.dataset.conversation;
    var checked = el.csat.querySelector("input[name=rating]:checked");
    api("POST", "/csat", { conversation_id: id, rating: checked ? Number(checked.value) : 0, comment: el.csat.elements.comment.value })
      .then(function () { state.conversations[id].rated = true; updateCsat(); showStatus(T.thanks); })
      .catch(function (err) { showStatus(err.message); });
  });

  // --- open/close, keyboard ---------------------------------------------------------------------------------------
  function setOpen(open) {
    state.open = open;
    el.panel.hidden = !open;
    el.launcher.hidden = open;
    el.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    el.launcher.classList.remove("hw-unread");
    toParent({ type: "resize", open: open });
    if (open) { el.text.focus(); var c = currentConversation(); if (c) markRead(c); el.log.scrollTop = el.log.scrollHeight; }
    else el.launcher.focus();
  }
  el.launcher.addEventListener("click", function () { setOpen(true); });
  el.close.addEventListener("click", function () { setOpen(false); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && state.open) setOpen(false); });
  el.compose.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = el.text.value.trim();
    if (!text) return;
    el.text.value = "";
    sendTyping(false);
    sendText(text);
  });
  el.text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); el.compose.requestSubmit(); }
  });
  el.text.addEventListener("input", function () { sendTyping(el.text.value.length > 0); });
  el.file.addEventListener("change", function () {
    if (el.file.files[0]) sendFile(el.file.files[0]);
    el.file.value = "";
  });
  document.addEventListener("visibilitychange", function () { var c = currentConversation(); if (c) markRead(c); });
})();
