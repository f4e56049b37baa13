/* hotro product comments widget.  Served after its configuration by /comments/<public_key>.js.
 * Renders into a shadow root (the host page's styles cannot reach it, its styles cannot leak out),
 * builds every node with createElement and textContent (no HTML parsing), uses no eval and no inline handlers, and
 * talks only to hotro's own origin.  Usage: docs/channels/comments.md. */
(function () {
  "use strict";

  var TEXTS = {
    vi: {
      title: "Bình luận và hỏi đáp",
      sort: "Sắp xếp",
      newest: "Mới nhất",
      helpful: "Hữu ích nhất",
      write: "Viết bình luận",
      comment: "Bình luận",
      question: "Đặt câu hỏi",
      kind: "Loại",
      name: "Tên hiển thị",
      email: "E-mail (không bắt buộc)",
      emailHint: "Không hiển thị công khai; chỉ dùng để shop trả lời riêng cho bạn.",
      text: "Nội dung",
      textQuestion: "Câu hỏi của bạn",
      send: "Gửi",
      sending: "Đang gửi…",
      reply: "Trả lời",
      replyTo: "Trả lời {name}",
      cancel: "Huỷ",
      helpfulBtn: "Hữu ích",
      helpfulCount: "Hữu ích ({n})",
      voted: "Bạn thấy hữu ích",
      buyer: "Đã mua hàng",
      business: "Phản hồi của shop",
      answered: "Đã trả lời",
      pending: "Đang chờ duyệt (chỉ bạn thấy)",
      questionBadge: "Câu hỏi",
      empty: "Chưa có bình luận nào. Hãy là người đầu tiên!",
      loading: "Đang tải bình luận…",
      loadError: "Không tải được bình luận. Vui lòng thử lại sau.",
      retry: "Thử lại",
      prev: "Trang trước",
      next: "Trang sau",
      page: "Trang {page}/{pages}",
      count: "{n} bình luận",
      chars: "{n}/{max} ký tự",
      network: "Không kết nối được. Kiểm tra mạng và thử lại.",
      list: "Danh sách bình luận",
      repliesOf: "Trả lời cho {name}"
    },
    en: {
      title: "Comments and questions",
      sort: "Sort by",
      newest: "Newest",
      helpful: "Most helpful",
      write: "Write a comment",
      comment: "Comment",
      question: "Ask a question",
      kind: "Type",
      name: "Display name",
      email: "E-mail (optional)",
      emailHint: "Never shown in public; only used if the shop answers you privately.",
      text: "Your comment",
      textQuestion: "Your question",
      send: "Send",
      sending: "Sending…",
      reply: "Reply",
      replyTo: "Reply to {name}",
      cancel: "Cancel",
      helpfulBtn: "Helpful",
      helpfulCount: "Helpful ({n})",
      voted: "You found this helpful",
      buyer: "Verified buyer",
      business: "Reply from the shop",
      answered: "Answered",
      pending: "Waiting for review (only you see it)",
      questionBadge: "Question",
      empty: "No comments yet. Be the first!",
      loading: "Loading comments…",
      loadError: "The comments could not be loaded. Please try again later.",
      retry: "Try again",
      prev: "Previous page",
      next: "Next page",
      page: "Page {page} of {pages}",
      count: "{n} comments",
      chars: "{n}/{max} characters",
      network: "No connection. Check your network and try again.",
      list: "Comments",
      repliesOf: "Replies to {name}"
    }
  };
  var MAX_TEXT = 2000;
  var MAX_NAME = 80;
  var configs = window.__hotroComments || [];
  var config = configs[configs.length - 1];
  if (!config) { return; }

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, k) { return values[k] === undefined ? "" : String(values[k]); });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) { return; }
        if (k === "text") { node.textContent = v; } else { node.setAttribute(k, v === true ? "" : v); }
      });
    }
    (children || []).forEach(function (c) { if (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
    return node;
  }

  var counter = 0;
  function uid(prefix) { counter += 1; return "hc-" + prefix + "-" + counter; }

  function Widget(script, host) {
    var ds = script.dataset;
    var canonical = document.querySelector("link[rel=canonical]");
    this.key = config.key;
    this.api = config.api;
    this.productId = (ds.productId || "").trim();
    this.productUrl = ds.productUrl || (canonical && canonical.href) || location.href.split("#")[0];
    this.productTitle = ds.productTitle || document.title || "";
    this.userId = ds.userId || "";
    this.userHash = ds.userHash || "";
    this.buyerHash = ds.verifiedBuyer || "";
    this.defaultName = ds.userName || "";
    var lang = (ds.lang || config.lang || document.documentElement.lang || "vi").slice(0, 2).toLowerCase();
    this.lang = TEXTS[lang] ? lang : "vi";
    this.t = TEXTS[this.lang];
    this.sort = "newest";
    this.page = 1;
    this.storeKey = "hotro-comments:" + this.key;
    this.shownAt = Date.now();
    this.host = host;
    this.root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    this.render();
    this.load();
  }

  Widget.prototype.stored = function () {
    try {
      var raw = window.localStorage.getItem(this.storeKey);
      var data = raw ? JSON.parse(raw) : null;
      return data && typeof data.token === "string" ? data : null;
    } catch (e) { return null; }
  };

  Widget.prototype.store = function (token) {
    try { window.localStorage.setItem(this.storeKey, JSON.stringify({ token: token, user: this.userId })); } catch (e) { /* private mode */ }
    this.token = token;
  };

  Widget.prototype.currentToken = function () {
    if (this.token) { return this.token; }
    var saved = this.stored();
    // a token of another signed-in user (or of a user who signed out) is not reused
    if (saved && saved.user === this.userId) { this.token = saved.token; }
    return this.token || "";
  };

  Widget.prototype.request = function (method, path, body) {
    var headers = { "Accept": "application/json" };
    var token = this.currentToken();
    if (token) { headers["X-Hotro-Visitor"] = token; }
    if (body) { headers["Content-Type"] = "application/json"; }
    var sep = path.indexOf("?") === -1 ? "?" : "&";
    return fetch(this.api + path + sep + "lang=" + this.lang, {
      method: method,
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit",
      mode: "cors",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data || {} };
      });
    });
  };

  Widget.prototype.ensureSession = function (force) {
    var self = this;
    if (!force && this.currentToken()) { return Promise.resolve(this.token); }
    var body = this.userId ? { user_id: this.userId, user_hash: this.userHash } : {};
    return this.request("POST", "session", body).then(function (res) {
      if (res.status === 403 && self.userId) {
        // the site's signature did not verify: go on as a guest (never with a badge)
        if (window.console) { window.console.warn("hotro comments: " + (res.data.message || "identity not verified")); }
        self.userId = ""; self.userHash = ""; self.buyerHash = "";
        return self.ensureSession(true);
      }
      if (res.status !== 200 || !res.data.token) { throw { message: res.data.message || self.t.network }; }
      self.store(res.data.token);
      return res.data.token;
    });
  };

  // --- rendering ----------------------------------------------------------------------------------
  Widget.prototype.render = function () {
    var t = this.t;
    var self = this;
    var titleId = uid("title");
    this.root.appendChild(el("link", { rel: "stylesheet", href: config.css }));
    this.section = el("section", { "class": "hc", "aria-labelledby": titleId, lang: this.lang });
    if (config.color) { this.section.style.setProperty("--hc-accent", config.color); }
    this.heading = el("h2", { id: titleId, "class": "hc-title", text: t.title });
    var sortId = uid("sort");
    this.sortSelect = el("select", { id: sortId }, [
      el("option", { value: "newest", text: t.newest }),
      el("option", { value: "helpful", text: t.helpful })
    ]);
    this.sortSelect.addEventListener("change", function () { self.sort = self.sortSelect.value; self.page = 1; self.load(); });
    var head = el("div", { "class": "hc-head" }, [
      this.heading,
      el("div", { "class": "hc-sort" }, [el("label", { "for": sortId, text: t.sort }), this.sortSelect])
    ]);
    this.form = this.buildForm(null);
    this.status = el("p", { "class": "hc-status", role: "status", "aria-live": "polite" });
    this.list = el("ol", { "class": "hc-list", "aria-label": t.list });
    this.pager = el("nav", { "class": "hc-pager", "aria-label": t.list });
    this.section.appendChild(head);
    this.section.appendChild(this.form.node);
    this.section.appendChild(this.status);
    this.section.appendChild(this.list);
    this.section.appendChild(this.pager);
    this.root.appendChild(this.section);
  };

  Widget.prototype.buildForm = function (parent) {
    var t = this.t;
    var self = this;
    var form = el("form", { "class": parent ? "hc-form hc-reply-form" : "hc-form", novalidate: true });
    var parts = { node: form, parent: parent };
    if (!parent) {
      var legendId = uid("kind");
      var kindGroup = el("fieldset", { "class": "hc-kind" }, [el("legend", { id: legendId, "class": "hc-visually-hidden", text: t.kind })]);
      ["comment", "question"].forEach(function (kind, i) {
        var id = uid("k");
        var radio = el("input", { type: "radio", name: "kind", value: kind, id: id, checked: i === 0 });
        radio.addEventListener("change", function () { parts.textLabel.textContent = kind === "question" ? t.textQuestion : t.text; });
        kindGroup.appendChild(el("label", { "for": id, "class": "hc-chip" }, [radio, el("span", { text: t[kind] })]));
      });
      form.appendChild(kindGroup);
    }
    var textId = uid("text");
    var countId = uid("count");
    parts.textLabel = el("label", { "for": textId, text: parent ? fmt(t.replyTo, { name: parent.author }) : t.text });
    parts.text = el("textarea", { id: textId, name: "text", rows: parent ? "3" : "4", maxlength: String(MAX_TEXT), required: true, "aria-describedby": countId });
    parts.count = el("span", { id: countId, "class": "hc-hint", text: fmt(t.chars, { n: 0, max: MAX_TEXT }) });
    parts.text.addEventListener("input", function () { parts.count.textContent = fmt(t.chars, { n: parts.text.value.length, max: MAX_TEXT }); });
    var nameId = uid("name");
    parts.name = el("input", { id: nameId, name: "name", type: "text", maxlength: String(MAX_NAME), autocomplete: "name", required: true });
    parts.name.value = this.defaultName;
    var emailId = uid("email");
    var emailHintId = uid("ehint");
    parts.email = el("input", { id: emailId, name: "email", type: "email", maxlength: "254", autocomplete: "email", "aria-describedby": emailHintId });
    // a field people never see: bots fill it in
    parts.trap = el("input", { name: "website", type: "text", tabindex: "-1", autocomplete: "off", "aria-hidden": "true" });
    parts.error = el("p", { "class": "hc-error", role: "alert" });
    parts.submit = el("button", { type: "submit", "class": "hc-btn hc-primary", text: t.send });
    form.appendChild(el("div", { "class": "hc-field" }, [parts.textLabel, parts.text, parts.count]));
    form.appendChild(el("div", { "class": "hc-row" }, [
      el("div", { "class": "hc-field" }, [el("label", { "for": nameId, text: t.name }), parts.name]),
      el("div", { "class": "hc-field" }, [el("label", { "for": emailId, text: t.email }), parts.email, el("span", { id: emailHintId, "class": "hc-hint", text: t.emailHint })])
    ]));
    form.appendChild(el("div", { "class": "hc-trap", "aria-hidden": "true" }, [parts.trap]));
    form.appendChild(parts.error);
    var actions = el("div", { "class": "hc-actions" }, [parts.submit]);
    if (parent) {
      var cancel = el("button", { type: "button", "class": "hc-btn hc-link", text: t.cancel });
      cancel.addEventListener("click", function () { form.remove(); if (parent.replyButton) { parent.replyButton.focus(); } });
      actions.appendChild(cancel);
    }
    form.appendChild(actions);
    form.addEventListener("submit", function (event) { event.preventDefault(); self.submit(parts); });
    return parts;
  };

  Widget.prototype.submit = function (parts) {
    var t = this.t;
    var self = this;
    var kindInput = parts.node.querySelector("input[name=kind]:checked");
    var payload = {
      product_id: this.productId,
      product_url: this.productUrl,
      product_title: this.productTitle,
      kind: kindInput ? kindInput.value : "comment",
      parent_id: parts.parent ? parts.parent.id : "",
      name: parts.name.value,
      email: parts.email.value,
      text: parts.text.value,
      website: parts.trap.value,
      buyer_hash: this.buyerHash,
      seconds_on_page: (Date.now() - this.shownAt) / 1000
    };
    [parts.text, parts.name, parts.email].forEach(function (f) { f.removeAttribute("aria-invalid"); });
    parts.error.textContent = "";
    parts.submit.disabled = true;
    parts.submit.textContent = t.sending;
    var attempt = function (retried) {
      return self.ensureSession(retried).then(function () { return self.request("POST", "comments", payload); }).then(function (res) {
        if (res.status === 401 && !retried) { self.token = ""; return attempt(true); }
        return res;
      });
    };
    attempt(false).then(function (res) {
      if (res.status === 201) {
        parts.text.value = "";
        parts.count.textContent = fmt(t.chars, { n: 0, max: MAX_TEXT });
        self.say(res.data.message || "");
        if (parts.parent) { parts.node.remove(); }
        self.page = 1;
        self.sort = self.sortSelect.value;
        return self.load();
      }
      var fields = res.data.fields || {};
      Object.keys(fields).forEach(function (name) { if (parts[name]) { parts[name].setAttribute("aria-invalid", "true"); } });
      parts.error.textContent = res.data.message || t.network;
    }).catch(function (err) {
      parts.error.textContent = (err && err.message) || t.network;
    }).then(function () {
      parts.submit.disabled = false;
      parts.submit.textContent = t.send;
    });
  };

  Widget.prototype.say = function (message) {
    this.status.textContent = message;
  };

  Widget.prototype.load = function () {
    var self = this;
    var t = this.t;
    if (!this.productId) { return Promise.resolve(); }
    this.section.setAttribute("aria-busy", "true");
    if (!this.list.firstChild) { this.list.appendChild(el("li", { "class": "hc-empty", text: t.loading })); }
    var query = "comments?product_id=" + encodeURIComponent(this.productId) + "&sort=" + this.sort + "&page=" + this.page;
    return this.request("GET", query).then(function (res) {
      if (res.status !== 200) { throw { message: res.data.message || t.loadError }; }
      self.show(res.data);
    }).catch(function (err) {
      self.list.textContent = "";
      var retry = el("button", { type: "button", "class": "hc-btn hc-link", text: t.retry });
      retry.addEventListener("click", function () { self.load(); });
      self.list.appendChild(el("li", { "class": "hc-empty", role: "alert" }, [(err && err.message) || t.loadError, " ", retry]));
    }).then(function () { self.section.removeAttribute("aria-busy"); });
  };

  Widget.prototype.show = function (data) {
    var t = this.t;
    var self = this;
    this.page = data.page;
    this.heading.textContent = t.title + " (" + data.total + ")";
    this.list.textContent = "";
    if (!data.comments.length) { this.list.appendChild(el("li", { "class": "hc-empty", text: t.empty })); }
    data.comments.forEach(function (c) { self.list.appendChild(self.item(c, true)); });
    this.pager.textContent = "";
    if (data.pages > 1) {
      var prev = el("button", { type: "button", "class": "hc-btn", text: t.prev, disabled: data.page <= 1 });
      var next = el("button", { type: "button", "class": "hc-btn", text: t.next, disabled: data.page >= data.pages });
      prev.addEventListener("click", function () { self.page -= 1; self.load().then(function () { self.heading.focus(); }); });
      next.addEventListener("click", function () { self.page += 1; self.load().then(function () { self.heading.focus(); }); });
      this.heading.setAttribute("tabindex", "-1");
      this.pager.appendChild(prev);
      this.pager.appendChild(el("span", { "class": "hc-page", text: fmt(t.page, { page: data.page, pages: data.pages }) }));
      this.pager.appendChild(next);
    }
  };

  Widget.prototype.when = function (iso) {
    try {
      return new Intl.DateTimeFormat(this.lang === "vi" ? "vi-VN" : "en", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
    } catch (e) { return iso; }
  };

  Widget.prototype.item = function (c, top) {
    var t = this.t;
    var self = this;
    var authorId = uid("a");
    var badges = el("span", { "class": "hc-badges" });
    if (c.kind === "question" && top) { badges.appendChild(el("span", { "class": "hc-badge hc-q", text: t.questionBadge })); }
    if (c.business) { badges.appendChild(el("span", { "class": "hc-badge hc-shop", text: t.business })); }
    if (c.verified_buyer) { badges.appendChild(el("span", { "class": "hc-badge hc-buyer", text: "✓ " + t.buyer })); }
    if (c.answered) { badges.appendChild(el("span", { "class": "hc-badge hc-answered", text: t.answered })); }
    if (c.pending) { badges.appendChild(el("span", { "class": "hc-badge hc-pending", text: t.pending })); }
    var article = el("article", { "class": "hc-comment" + (c.business ? " hc-business" : ""), "aria-labelledby": authorId, "data-id": c.id }, [
      el("header", { "class": "hc-meta" }, [
        el("strong", { id: authorId, "class": "hc-author", text: c.author }),
        badges,
        el("time", { datetime: c.created_at, "class": "hc-time", text: this.when(c.created_at) })
      ]),
      el("p", { "class": "hc-text", text: c.text })
    ]);
    var actions = el("div", { "class": "hc-actions" });
    if (!c.pending && !c.mine) {
      var vote = el("button", { type: "button", "class": "hc-btn hc-link hc-vote", "aria-pressed": c.voted ? "true" : "false", text: c.helpful ? fmt(t.helpfulCount, { n: c.helpful }) : t.helpfulBtn });
      if (c.voted) { vote.setAttribute("title", t.voted); }
      vote.addEventListener("click", function () { self.vote(c, vote); });
      actions.appendChild(vote);
    }
    var li = el("li", { "class": "hc-item" }, [article]);
    if (top && !c.pending) {
      var replyButton = el("button", { type: "button", "class": "hc-btn hc-link", text: t.reply, "aria-expanded": "false" });
      c.replyButton = replyButton;
      replyButton.addEventListener("click", function () {
        var open = li.querySelector(".hc-reply-form");
        if (open) { open.remove(); replyButton.setAttribute("aria-expanded", "false"); return; }
        var form = self.buildForm(c);
        li.insertBefore(form.node, li.querySelector(".hc-replies"));
        replyButton.setAttribute("aria-expanded", "true");
        form.text.focus();
      });
      actions.appendChild(replyButton);
    }
    article.appendChild(actions);
    if (top) {
      var replies = el("ol", { "class": "hc-replies", "aria-label": fmt(t.repliesOf, { name: c.author }) });
      (c.replies || []).forEach(function (r) { replies.appendChild(self.item(r, false)); });
      li.appendChild(replies);
    }
    return li;
  };

  Widget.prototype.vote = function (c, button) {
    var self = this;
    if (c.voted) { return; }
    button.disabled = true;
    var attempt = function (retried) {
      return self.ensureSession(retried).then(function () { return self.request("POST", "comments/" + c.id + "/helpful"); }).then(function (res) {
        if (res.status === 401 && !retried) { self.token = ""; return attempt(true); }
        return res;
      });
    };
    attempt(false).then(function (res) {
      if (res.status === 200) {
        c.voted = true;
        c.helpful = res.data.helpful;
        button.textContent = fmt(self.t.helpfulCount, { n: c.helpful });
        button.setAttribute("aria-pressed", "true");
        button.setAttribute("title", self.t.voted);
      } else {
        self.say(res.data.message || self.t.network);
      }
    }).catch(function () { self.say(self.t.network); }).then(function () { button.disabled = false; });
  };

  // --- start: every script tag of this inbox not yet started ---------------------------------------
  function start() {
    var scripts = document.querySelectorAll("script[src*='/comments/" + config.key + ".js']");
    Array.prototype.forEach.call(scripts, function (script) {
      if (script.getAttribute("data-hotro-started")) { return; }
      script.setAttribute("data-hotro-started", "1");
      var target = script.dataset.container ? document.querySelector(script.dataset.container) : document.getElementById("hotro-comments");
      if (!target) {
        target = document.createElement("div");
        script.parentNode.insertBefore(target, script.nextSibling);
      }
      if (target.shadowRoot) { return; }
      new Widget(script, target);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
