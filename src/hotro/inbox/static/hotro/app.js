/* hotro agent UI: keyboard navigation, composer niceties and live updates over a WebSocket.
   Plain JavaScript, no inline handlers (CSP); htmx does the partial page updates. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function isTyping(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  /* ---- filters: submit when a select changes --------------------------------------------------- */
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.classList && el.classList.contains("js-autosubmit") && el.form) {
      el.form.requestSubmit();
    }
  });

  /* ---- composer: tabs, Ctrl+Enter, reset after a successful send -------------------------------- */
  document.addEventListener("click", function (event) {
    var tab = event.target.closest ? event.target.closest(".composer-tab") : null;
    if (!tab) return;
    showComposerTab(tab.dataset.tab);
  });

  function showComposerTab(name) {
    $all(".composer-tab").forEach(function (t) {
      var on = t.dataset.tab === name;
      t.classList.toggle("is-active", on);
      t.setAttribute("aria-selected", on ? "true" : "false");
    });
    $all(".composer-form").forEach(function (f) { f.classList.toggle("is-active", f.dataset.tab === name); });
    var area = $(".composer-form.is-active textarea");
    if (area) area.focus();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA" && event.target.form) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.classList || !form.classList.contains("js-reset-on-success")) return;
    var xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Hotro-Outcome") === "ok") form.reset();
  });

  /* ---- keyboard: j/k move, Enter open, r reply, e resolve, / search ---------------------------- */
  var selectedNumber = null;

  function rows() { return $all("#conv-rows .conv-row"); }

  function selectRow(row) {
    rows().forEach(function (r) { r.classList.remove("is-selected"); });
    if (!row) return;
    row.classList.add("is-selected");
    selectedNumber = row.dataset.number;
    row.scrollIntoView({ block: "nearest" });
    var link = $(".conv-link", row);
    if (link) link.focus({ preventScroll: true });
  }

  function moveSelection(step) {
    var list = rows();
    if (!list.length) return;
    var index = list.findIndex(function (r) { return r.classList.contains("is-selected"); });
    index = index < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(Math.max(index + step, 0), list.length - 1);
    selectRow(list[index]);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" && isTyping(event.target)) { event.target.blur(); return; }
    if (isTyping(event.target)) return;
    switch (event.key) {
      case "j": moveSelection(1); break;
      case "k": moveSelection(-1); break;
      case "Enter": {
        var row = $("#conv-rows .conv-row.is-selected");
        if (!row || document.activeElement === $(".conv-link", row)) return; // a focused link opens itself
        window.location.assign($(".conv-link", row).href);
        break;
      }
      case "r": {
        var reply = $("#reply-text");
        if (!reply) return;
        showComposerTab("reply");
        break;
      }
      case "e": {
        var resolve = $("#resolve-form");
        if (!resolve) return;
        resolve.requestSubmit();
        break;
      }
      case "/": {
        var search = $("#search");
        if (!search) return;
        search.focus();
        search.select();
        break;
      }
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "conv-rows" && selectedNumber) {
      var row = $('#conv-rows .conv-row[data-number="' + selectedNumber + '"]');
      if (row) row.classList.add("is-selected");
    }
  });

  /* ---- copy buttons (embed snippets, secrets) -------------------------------------------------- */
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".js-copy") : null;
    if (!button) return;
    var source = document.getElementById(button.dataset.copyTarget);
    if (!source) return;
    var text = source.textContent;
    function done() {
      var status = button.parentNode && $(".js-copy-status", button.parentNode);
      if (status) status.textContent = button.dataset.copied || "";
      button.classList.add("is-copied");
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { selectText(source); });
    } else {
      selectText(source);
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selected: the user copies */ }
    }
  });

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  /* ---- live chat: tell the visitor an agent is typing (at most once every 2.5 s) ----------------- */
  var TYPING_EVERY = 2500;
  var typingSentAt = 0;

  function csrfToken(form) {
    var input = form && $("input[name=csrfmiddlewaretoken]", form);
    return input ? input.value : "";
  }

  function sendAgentTyping(area, typing) {
    var url = area.dataset.typingUrl;
    if (!url || !window.fetch) return;
    var body = new URLSearchParams();
    body.set("typing", typing ? "1" : "0");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(area.form) },
      body: body
    }).catch(function () { /* a lost typing signal does not matter */ });
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (area.id !== "reply-text" || !area.dataset.typingUrl) return;
    var now = Date.now();
    if (now - typingSentAt < TYPING_EVERY) return;
    typingSentAt = now;
    sendAgentTyping(area, true);
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    var area = form && form.querySelector ? $("#reply-text", form) : null;
    if (area && area.dataset.typingUrl && typingSentAt) {
      typingSentAt = 0;
      sendAgentTyping(area, false);
    }
  });

  /* ---- @mentions in the note box: a listbox of matching members --------------------------------- */
  var mention = { area: null, list: null, items: [], active: -1, start: -1, request: 0 };

  function mentionQuery(area) {
    var before = area.value.slice(0, area.selectionStart);
    var match = /(^|[^\p{L}\p{N}_.])@([\p{L}\p{N}_.\-]{0,40})$/u.exec(before);
    if (!match) return null;
    return { text: match[2], start: before.length - match[2].length - 1 };
  }

  function closeMentions() {
    if (!mention.list) return;
    mention.list.hidden = true;
    mention.list.textContent = "";
    mention.items = [];
    mention.active = -1;
    if (mention.area) {
      mention.area.setAttribute("aria-expanded", "false");
      mention.area.removeAttribute("aria-activedescendant");
    }
  }

  function setActive(index) {
    mention.active = index;
    mention.items.forEach(function (item, i) {
      item.el.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (index >= 0 && mention.items[index]) {
      mention.area.setAttribute("aria-activedescendant", mention.items[index].el.id);
      mention.items[index].el.scrollIntoView({ block: "nearest" });
    } else {
      mention.area.removeAttribute("aria-activedescendant");
    }
  }

  function showMentions(results) {
    var list = mention.list;
    list.textContent = "";
    mention.items = results.map(function (result, i) {
      var li = document.createElement("li");
      li.id = "mention-option-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.handle = result.handle;
      li.textContent = result.name;
      var handle = document.createElement("span");
      handle.className = "mention-handle";
      handle.textContent = "@" + result.handle;
      li.appendChild(handle);
      list.appendChild(li);
      return { el: li, handle: result.handle };
    });
    if (!mention.items.length) { closeMentions(); return; }
    list.hidden = false;
    mention.area.setAttribute("aria-expanded", "true");
    setActive(0);
  }

  function chooseMention(index) {
    var item = mention.items[index];
    var area = mention.area;
    if (!item || !area || mention.start < 0) return;
    var caret = area.selectionStart;
    var insert = "@" + item.handle + " ";
    area.value = area.value.slice(0, mention.start) + insert + area.value.slice(caret);
    var at = mention.start + insert.length;
    area.setSelectionRange(at, at);
    closeMentions();
    area.focus();
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.classList || !area.classList.contains("js-mentions")) return;
    mention.area = area;
    mention.list = document.getElementById(area.getAttribute("aria-controls"));
    var query = mentionQuery(area);
    if (!query || !mention.list || !window.fetch) { closeMentions(); return; }
    mention.start = query.start;
    var ticket = ++mention.request;
    fetch(area.dataset.mentionsUrl + "?q=" + encodeURIComponent(query.text), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) { if (ticket === mention.request) showMentions(data.results || []); })
      .catch(closeMentions);
  });

  // capture phase: runs before the page's own shortcuts (Escape blurs, Ctrl+Enter sends)
  document.addEventListener("keydown", function (event) {
    if (!mention.list || mention.list.hidden || event.target !== mention.area) return;
    var count = mention.items.length;
    if (event.key === "ArrowDown") setActive((mention.active + 1) % count);
    else if (event.key === "ArrowUp") setActive((mention.active - 1 + count) % count);
    else if ((event.key === "Enter" && !event.ctrlKey && !event.metaKey) || event.key === "Tab") chooseMention(mention.active);
    else if (event.key === "Escape") closeMentions();
    else return;
    event.preventDefault();
    event.stopPropagation();
  }, true);

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest ? event.target.closest(".mention-list [role=option]") : null;
    if (!option) return;
    event.preventDefault(); // keep the focus in the textarea
    chooseMention(mention.items.findIndex(function (item) { return item.el === option; }));
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === mention.area) setTimeout(closeMentions, 150);
  });

  /* ---- live updates ----------------------------------------------------------------------------- */
  var root = $("#live-root");
  if (!root || !window.WebSocket) return;

  var lastId = parseInt(root.dataset.lastEventId || "0", 10) || 0;
  var seen = new Set();
  var backoff = 1000;
  var socket = null;
  var timers = {};
  var panePending = false;

  function setState(state) {
    root.dataset.live = state;
    var badge = $("#live-status");
    if (badge) badge.dataset.state = state;
  }

  function later(name, fn, delay) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, delay);
  }

  function refreshList() {
    var column = $("#list-column");
    if (!column || !window.htmx) return;
    var current = root.dataset.number ? "&current=" + encodeURIComponent(root.dataset.number) : "";
    htmx.ajax("GET", column.dataset.rowsUrl + current, { target: "#conv-rows", swap: "innerHTML" });
    htmx.ajax("GET", column.dataset.countsUrl, { target: "#view-counts", swap: "innerHTML" });
  }

  function paneBusy() {
    var live = $("#conv-live");
    return live && live.contains(document.activeElement) && isTyping(document.activeElement);
  }

  function refreshPane() {
    if (!root.dataset.paneUrl || !window.htmx || !$("#conv-live")) return;
    if (paneBusy()) { panePending = true; return; }
    panePending = false;
    htmx.ajax("GET", root.dataset.paneUrl, { target: "#conv-live", swap: "outerHTML" });
  }

  document.addEventListener("focusout", function () {
    if (panePending) later("pane", refreshPane, 300);
  });

  function concernsOpenConversation(event) {
    var id = root.dataset.conversationId;
    if (!id) return false;
    return event.conversation_id === id || event.into_id === id || event.from_id === id;
  }

  function showTyping(event) {
    var indicator = $("#typing-indicator");
    if (!indicator || event.who !== "contact") return;
    indicator.hidden = !event.typing;
    if (event.typing) later("typing", function () { indicator.hidden = true; }, 6000);
  }

  function handle(event) {
    root.dataset.lastEventType = event.type || "";
    if (event.type === "conversation.typing") {  // nothing changed: no refresh, only the indicator
      if (concernsOpenConversation(event)) showTyping(event);
      return;
    }
    if (event.type === "message.created" && concernsOpenConversation(event)) {
      var indicator = $("#typing-indicator");
      if (indicator) indicator.hidden = true;  // the message they were typing arrived
    }
    later("list", refreshList, 250);
    if (concernsOpenConversation(event)) later("pane", refreshPane, 150);
  }

  function onMessage(raw) {
    var message;
    try { message = JSON.parse(raw.data); } catch (e) { return; }
    if (message.resync) {
      lastId = Math.max(lastId, message.id || 0);
      root.dataset.lastEventId = String(lastId);
      later("list", refreshList, 50);
      later("pane", refreshPane, 50);
      return;
    }
    if (typeof message.id !== "number" || seen.has(message.id)) return;
    seen.add(message.id);
    if (seen.size > 2000) seen = new Set(Array.from(seen).slice(-1000));
    lastId = Math.max(lastId, message.id);
    root.dataset.lastEventId = String(lastId);
    handle(message.event || {});
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    setState("connecting");
    socket = new WebSocket(scheme + window.location.host + root.dataset.wsPath);
    socket.addEventListener("open", function () {
      backoff = 1000;
      setState("live");
      socket.send(JSON.stringify({ resume_from: lastId }));
    });
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      if (event.code === 4403) { setState("refused"); return; }
      setState("offline");
      var wait = backoff + Math.floor(Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
      setTimeout(connect, wait);
    });
  }

  connect();
})();
