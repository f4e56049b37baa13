// Runs on the host page, wrapped by the server in (function(){var HOTRO={base,key,lang,title}; ... })().
// It only creates the widget iframe (served by hotro, isolated styles and storage) and relays
// hotro.identify()/hotro.reset() to it with postMessage; it reads nothing from the page but
// <html lang> and the data-* attributes of its own <script> tag.
"use strict";
if (window.hotro && window.hotro._hotroLoaded) return;
var script = document.currentScript;
var hotroOrigin = new URL(HOTRO.base).origin;
var queued = (window.hotro && Array.isArray(window.hotro.q)) ? window.hotro.q : [];
var lang = HOTRO.lang || (document.documentElement.lang || navigator.language || "vi").slice(0, 2).toLowerCase();
var frame = document.createElement("iframe");
var ready = false;
var outbox = [];
var CLOSED = { w: "88px", h: "88px" };

frame.src = HOTRO.base + "/widget/" + encodeURIComponent(HOTRO.key) + "/frame/?lang=" +
  encodeURIComponent(lang) + "&origin=" + encodeURIComponent(location.origin);
frame.title = HOTRO.title || "Chat";
frame.setAttribute("allow", "");
frame.setAttribute("referrerpolicy", "origin");
var s = frame.style;
s.position = "fixed"; s.right = "0"; s.bottom = "0"; s.border = "0"; s.margin = "0"; s.padding = "0";
s.width = CLOSED.w; s.height = CLOSED.h; s.maxWidth = "100%"; s.maxHeight = "100%";
s.zIndex = "2147483000"; s.background = "transparent"; s.colorScheme = "normal"; s.display = "block";

function post(message) {
  message.hotro = 1;
  if (ready && frame.contentWindow) frame.contentWindow.postMessage(message, hotroOrigin);
  else outbox.push(message);
}

function size(open) {
  var phone = window.innerWidth < 480;
  s.width = open ? (phone ? "100%" : "400px") : CLOSED.w;
  s.height = open ? (phone ? "100%" : "min(640px, 100%)") : CLOSED.h;
}

window.addEventListener("message", function (event) {
  if (event.source !== frame.contentWindow || event.origin !== hotroOrigin) return;
  var data = event.data || {};
  if (data.hotro !== 1) return;
  if (data.type === "ready") {
    ready = true;
    var initial = { type: "init" };
    if (script && script.dataset.userId && script.dataset.userHash) {
      initial.user_id = script.dataset.userId;
      initial.user_hash = script.dataset.userHash;
    }
    frame.contentWindow.postMessage(Object.assign({ hotro: 1 }, initial), hotroOrigin);
    outbox.splice(0).forEach(function (m) { frame.contentWindow.postMessage(m, hotroOrigin); });
  } else if (data.type === "resize") {
    size(!!data.open);
  }
});

var api = {
  _hotroLoaded: true,
  identify: function (user) {
    user = user || {};
    post({ type: "identify", user_id: String(user.userId || user.user_id || ""),
           user_hash: String(user.userHash || user.user_hash || "") });
  },
  reset: function () { post({ type: "reset" }); },
  open: function () { post({ type: "open" }); },
  close: function () { post({ type: "close" }); }
};
window.hotro = api;
queued.forEach(function (call) {
  if (call && typeof api[call[0]] === "function") api[call[0]].apply(null, call.slice(1));
});

function mount() { document.body.appendChild(frame); }
if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
