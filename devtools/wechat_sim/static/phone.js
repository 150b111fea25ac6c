/* The simulator's "phone": chat as a patient (公众号) or a clinician (企业微信). */
(function () {
  "use strict";

  const BOOT = window.SIM_BOOT || {};
  const $ = (sel) => document.querySelector(sel);
  const chat = $("#chat");
  const params = new URLSearchParams(location.search);

  const S = {
    channel: params.get("role") === "work" ? "work" : "mp",
    user: "",
    conv: "",          // "" = the app conversation; else an appchat chatid
    rendered: new Map(), // entry id -> {rev, el}
    pollTimer: null,
    menuSig: "",
    chatsSig: "",
    scanKey: "scan_patient",
    scanEvent: "scancode_waitmsg",
  };
  S.user = params.get("user") || (S.channel === "mp" ? BOOT.default_patient : BOOT.default_clinician);

  // ------------------------------------------------------------------ helpers
  function esc(s) {
    return String(s == null ? "" : s)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function safeUrl(u) {
    u = String(u || "").trim();
    return /^(https?:)?\/\//i.test(u) || u.startsWith("/") ? u : "";
  }
  function link(url, text) {
    const u = safeUrl(url);
    return u ? `<a href="${esc(u)}" target="_blank" rel="noopener">${esc(text)}</a>` : esc(text);
  }
  function linkify(plain) {
    return esc(plain)
      .replace(/(https?:\/\/[^\s<>"'）)]+)/g, (m) => `<a href="${m}" target="_blank" rel="noopener">${m}</a>`)
      .replace(/\n/g, "<br>");
  }
  // Text messages may carry <a href="…">…</a> (WeChat renders those); everything else is text.
  function richText(raw) {
    const re = /<a\s+[^>]*?href\s*=\s*["']([^"']*)["'][^>]*>([\s\S]*?)<\/a>/gi;
    let out = "", last = 0, m;
    raw = String(raw || "");
    while ((m = re.exec(raw))) {
      out += linkify(raw.slice(last, m.index)) + link(m[1], m[2].replace(/<[^>]*>/g, ""));
      last = re.lastIndex;
    }
    return out + linkify(raw.slice(last));
  }
  function textcardHtml(raw) {
    return esc(raw)
      .replace(/&lt;div class=&quot;(gray|normal|highlight)&quot;&gt;/g, '<div class="tc-$1">')
      .replace(/&lt;\/div&gt;/g, "</div>")
      .replace(/&lt;br\s*\/?&gt;/g, "<br>")
      .replace(/\n/g, "<br>");
  }
  function markdownHtml(raw) {
    const lines = String(raw || "").split("\n");
    return lines.map((line) => {
      let h = esc(line);
      h = h.replace(/&lt;font color=&quot;(info|comment|warning)&quot;&gt;([\s\S]*?)&lt;\/font&gt;/g,
        '<span class="font-$1">$2</span>');
      h = h.replace(/\*\*(.+?)\*\*/g, "<b>$1</b>");
      h = h.replace(/`([^`]+)`/g, "<code>$1</code>");
      h = h.replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, t, u) => {
        const url = safeUrl(u.replace(/&amp;/g, "&"));
        return url ? `<a href="${esc(url)}" target="_blank" rel="noopener">${t}</a>` : t;
      });
      const hm = h.match(/^(#{1,6})\s+(.*)$/);
      if (hm) return `<h${Math.min(hm[1].length, 4)}>${hm[2]}</h${Math.min(hm[1].length, 4)}>`;
      if (h.startsWith("&gt;")) return `<blockquote>${h.replace(/^&gt;\s?/, "")}</blockquote>`;
      return h === "" ? "<br>" : `<div>${h}</div>`;
    }).join("");
  }
  let toastTimer = null;
  function toast(msg) {
    const t = $("#toast");
    t.textContent = msg;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 2500);
  }
  async function postJSON(url, body) {
    const r = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = {};
    try { data = await r.json(); } catch (e) { data = { ok: false, error: `HTTP ${r.status}` }; }
    if (!r.ok && data.error) toast(data.error);
    return data;
  }

  // ------------------------------------------------------------------ rendering
  function avatarText(entry) {
    if (entry.direction === "user") return entry.sender ? entry.sender.slice(0, 1).toUpperCase() : "我";
    return entry.channel === "mp" ? "院" : "助";
  }

  function payloadOf(e) { return e.payload || {}; }

  function renderNews(articles) {
    const a = (articles && articles[0]) || {};
    const url = a.url || a.content_source_url || "";
    const pic = safeUrl(a.picurl || a.thumb_url || "");
    const inner = `<div class="card-title">${esc(a.title)}</div>
      <div class="news-row"><div class="card-desc">${esc(a.description || a.digest || "")}</div>
      ${pic ? `<img src="${esc(pic)}" alt="">` : ""}</div>`;
    const extra = (articles || []).slice(1).map((x) =>
      `<div class="card-foot">${link(x.url, x.title)}</div>`).join("");
    const u = safeUrl(url);
    return `<div class="card">${u ? `<a class="news" href="${esc(u)}" target="_blank" rel="noopener">${inner}</a>` : inner}${extra}</div>`;
  }

  function renderTemplate(p, kind) {
    const data = p.data || {};
    const kv = Object.keys(data).map((k) => {
      const v = data[k] && typeof data[k] === "object" ? data[k].value : data[k];
      return `<div class="kv"><span class="k">${esc(k)}</span><span class="v">${esc(v)}</span></div>`;
    }).join("");
    const url = p.url || p.page || "";
    return `<div class="card"><div class="kind">${esc(kind)}</div>
      <div class="card-title">${esc(p.template_id || "")}</div>${kv}
      <div class="card-foot">${url ? link(url, "详情") : "&nbsp;"}</div></div>`;
  }

  function renderTextcard(p) {
    return `<div class="card tc"><div class="card-title">${esc(p.title)}</div>
      <div class="card-desc" style="white-space:normal">${textcardHtml(p.description)}</div>
      <div class="card-foot">${link(p.url, p.btntxt || "详情")}</div></div>`;
  }

  function renderTemplateCard(entry) {
    const c = payloadOf(entry);
    const upd = entry.card_update || null;
    const parts = [];
    if (c.source) {
      parts.push(`<div class="source">${c.source.icon_url ? `<img src="${esc(safeUrl(c.source.icon_url))}" alt="">` : ""}${esc(c.source.desc || "")}</div>`);
    }
    const mt = c.main_title || {};
    if (mt.title) parts.push(`<div class="card-title">${esc(mt.title)}</div>`);
    if (mt.desc) parts.push(`<div class="card-desc">${esc(mt.desc)}</div>`);
    if (c.emphasis_content) {
      parts.push(`<div class="emphasis"><div class="big">${esc(c.emphasis_content.title)}</div><div class="card-desc" style="padding:0">${esc(c.emphasis_content.desc || "")}</div></div>`);
    }
    if (c.quote_area && (c.quote_area.title || c.quote_area.quote_text)) {
      parts.push(`<div class="quote">${esc(c.quote_area.title || "")}${c.quote_area.title ? "<br>" : ""}${esc(c.quote_area.quote_text || "")}</div>`);
    }
    if (c.card_image && c.card_image.url) parts.push(`<img class="cover" src="${esc(safeUrl(c.card_image.url))}" alt="">`);
    if (c.sub_title_text) parts.push(`<div class="card-desc">${esc(c.sub_title_text)}</div>`);
    (c.horizontal_content_list || []).forEach((h) => {
      const v = h.type === 1 && h.url ? link(h.url, h.value) : esc(h.value);
      parts.push(`<div class="kv"><span class="k">${esc(h.keyname)}</span><span class="v">${v}</span></div>`);
    });
    (c.jump_list || []).forEach((j) => {
      parts.push(`<div class="kv"><span class="v">${j.url ? link(j.url, j.title) : esc(j.title)}</span></div>`);
    });
    // interactive parts
    const qs = [];
    if (c.button_selection) qs.push(selectHtml(c.button_selection));
    if (c.checkbox) {
      const cb = c.checkbox, multi = cb.mode === 1;
      qs.push(`<div class="question" data-q="${esc(cb.question_key)}">` + (cb.option_list || []).map((o) =>
        `<label><input type="${multi ? "checkbox" : "radio"}" name="q-${entry.id}-${esc(cb.question_key)}" value="${esc(o.id)}"${o.is_checked ? " checked" : ""}${upd ? " disabled" : ""}> ${esc(o.text)}</label>`).join("") + "</div>");
    }
    (c.select_list || []).forEach((s) => qs.push(selectHtml(s)));
    parts.push(qs.join(""));
    function selectHtml(s) {
      return `<div class="question" data-q="${esc(s.question_key)}"><div>${esc(s.title || "")}</div><select${upd ? " disabled" : ""}>` +
        (s.option_list || []).map((o) => `<option value="${esc(o.id)}"${o.id === s.selected_id ? " selected" : ""}>${esc(o.text)}</option>`).join("") +
        "</select></div>";
    }
    const buttons = [];
    if (upd && upd.replace_name) {
      buttons.push(`<button disabled>${esc(upd.replace_name)}</button>`);
    } else {
      (c.button_list || []).forEach((b) => {
        buttons.push(`<button type="button" class="style-${esc(b.style || 1)}" data-key="${esc(b.key || "")}" data-url="${esc(b.type === 1 ? b.url || "" : "")}">${esc(b.text)}</button>`);
      });
      if (c.submit_button) {
        buttons.push(`<button type="button" class="style-1" data-key="${esc(c.submit_button.key || "")}" data-submit="1">${esc(c.submit_button.text || "提交")}</button>`);
      }
    }
    if (buttons.length) parts.push(`<div class="buttons">${buttons.join("")}</div>`);
    if (c.card_action && c.card_action.url && !buttons.length) {
      parts.push(`<div class="card-foot">${link(c.card_action.url, "查看详情")}</div>`);
    }
    const el = document.createElement("div");
    el.className = "card tcard";
    el.innerHTML = parts.join("");
    el.querySelectorAll(".buttons button[data-key]").forEach((btn) => {
      btn.addEventListener("click", () => cardClick(entry, btn, el));
    });
    return el;
  }

  function cardClick(entry, btn, cardEl) {
    const c = payloadOf(entry);
    if (btn.dataset.url) { window.open(btn.dataset.url, "_blank", "noopener"); return; }
    const selected = {};
    cardEl.querySelectorAll(".question").forEach((q) => {
      const key = q.dataset.q;
      const sel = q.querySelector("select");
      if (sel) selected[key] = [sel.value];
      const checked = Array.from(q.querySelectorAll("input:checked")).map((i) => i.value);
      if (checked.length) selected[key] = checked;
    });
    send({
      kind: "card", task_id: c.task_id, key: btn.dataset.key, name: btn.textContent,
      card_type: c.card_type, entry_id: entry.id,
      selected: Object.keys(selected).length ? selected : null,
    });
  }

  function bubble(html, cls) {
    const b = document.createElement("div");
    b.className = "bubble" + (cls ? " " + cls : "");
    b.innerHTML = html;
    return b;
  }

  function imageBubble(url) {
    const b = bubble("", "media");
    const img = document.createElement("img");
    img.className = "thumb";
    img.alt = "图片";
    img.src = url;
    img.addEventListener("click", () => {
      $("#zoom img").src = url;
      $("#zoom").hidden = false;
    });
    b.appendChild(img);
    return b;
  }

  function sizeText(n) {
    if (n == null) return "";
    return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(n / 1024))} KB`;
  }
  function downloadLink(e, text) {
    const u = safeUrl(e.media_url);
    return u ? `<a href="${esc(u)}" download="${esc(e.media_name || "")}">${esc(text)}</a>` : "";
  }
  // Browsers cannot play AMR: show "语音" and offer the file.
  function voiceBubble(e, p) {
    const b = bubble(`<span class="voice">语音</span> ${downloadLink(e, "下载")}` +
      (p.recognition ? `<br>${esc(p.recognition)}` : ""));
    b.dataset.kind = "voice";
    return b;
  }
  function videoBubble(e, p) {
    const u = safeUrl(e.media_url);
    if (!u) return bubble(`[视频] ${esc(p.title || "")}`);
    const b = bubble(`<video controls preload="metadata" src="${esc(u)}"></video>` +
      (p.title ? `<div>${esc(p.title)}</div>` : ""));
    b.dataset.kind = "video";
    return b;
  }
  function fileBubble(e) {
    const name = e.media_name || "文件";
    return bubble(`<div class="file">[文件] ${downloadLink(e, name) || esc(name)}` +
      `<span class="size">${sizeText(e.media_size)}</span></div>`);
  }

  function contentFor(e) {
    const p = payloadOf(e);
    switch (e.msgtype) {
      case "text": return bubble(richText(p.content));
      case "image": return e.media_url ? imageBubble(e.media_url) : bubble("[图片]");
      case "voice": return voiceBubble(e, p);
      case "video": return videoBubble(e, p);
      case "file": return fileBubble(e);
      case "music": return bubble(`[音乐] ${link(p.musicurl, p.title || "音乐")}`);
      case "location":
        return bubble(`[位置] ${esc(p.label || "")}<br><span style="font-size:12px;color:#555">${esc(p.lat)}, ${esc(p.lon)}</span>`);
      case "news": return bubble(renderNews(p.articles), "media");
      case "link": return bubble(renderNews([{ title: p.title, description: p.description, url: p.url, picurl: p.thumb_url }]), "media");
      case "mpnews": return bubble(p.articles ? renderNews(p.articles) : `[图文消息] ${esc(p.media_id || "")}`, p.articles ? "media" : "");
      case "mpnewsarticle": return bubble(`[图文消息] ${esc(p.article_id || "")}`);
      case "msgmenu": {
        const b = bubble(`${esc(p.head_content || "")}<div class="msgmenu">` +
          (p.list || []).map((o) => `<span class="opt" data-text="${esc(o.content)}">${esc(o.content)}</span>`).join("") +
          `</div>${esc(p.tail_content || "")}`);
        b.querySelectorAll(".opt").forEach((o) => o.addEventListener("click", () => sendText(o.dataset.text)));
        return b;
      }
      case "template": return bubble(renderTemplate(p, "模板消息"), "media");
      case "subscribe": return bubble(renderTemplate(p, "服务通知"), "media");
      case "textcard": return bubble(renderTextcard(p), "media");
      case "markdown": return bubble(`<div class="md">${markdownHtml(p.content)}</div>`);
      case "template_card": {
        const b = bubble("", "media");
        b.appendChild(renderTemplateCard(e));
        return b;
      }
      case "miniprogrampage": return bubble(`[小程序] ${esc(p.title || "")}`);
      case "miniprogram_notice": return bubble(`[小程序通知] ${esc(p.title || "")}`);
      default: return bubble(`<code>${esc(e.msgtype)}</code> ${esc(JSON.stringify(p))}`);
    }
  }

  function renderEntry(e) {
    if (e.direction === "system" || (e.direction === "user" && e.msgtype === "event")) {
      const n = document.createElement("div");
      n.className = "notice" + (e.direction === "system" && e.level !== "info" ? " error" : "");
      const span = document.createElement("span");
      span.textContent = e.direction === "system" ? e.payload.text : e.payload.label;
      n.appendChild(span);
      n.dataset.id = e.id;
      return n;
    }
    const row = document.createElement("div");
    row.className = `row ${e.direction === "user" ? "user" : "bot"} ${e.channel}`;
    row.dataset.id = e.id;
    row.dataset.msgtype = e.msgtype;
    const av = document.createElement("div");
    av.className = "avatar";
    av.textContent = avatarText(e);
    const body = document.createElement("div");
    body.className = "body";
    if (e.sender) {
      const s = document.createElement("div");
      s.className = "sender";
      s.textContent = e.sender;
      body.appendChild(s);
    }
    body.appendChild(contentFor(e));
    row.appendChild(av);
    row.appendChild(body);
    return row;
  }

  function applyEntries(entries) {
    const nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    let added = false;
    entries.forEach((e) => {
      const known = S.rendered.get(e.id);
      if (known && known.rev === e.rev) return;
      const el = renderEntry(e);
      if (known) {
        known.el.replaceWith(el);
      } else {
        chat.appendChild(el);
        added = true;
      }
      S.rendered.set(e.id, { rev: e.rev, el });
    });
    if (added || nearBottom) chat.scrollTop = chat.scrollHeight;
  }

  // ------------------------------------------------------------------ polling
  function messagesUrl() {
    if (S.conv) return `/_sim/messages?channel=appchat&chat=${encodeURIComponent(S.conv)}&include_user=1`;
    return `/_sim/messages?channel=${S.channel}&user=${encodeURIComponent(S.user)}&include_user=1`;
  }
  async function poll() {
    try {
      const r = await fetch(messagesUrl(), { cache: "no-store" });
      if (r.ok) applyEntries((await r.json()).messages || []);
    } catch (e) { /* the simulator restarted; try again next tick */ }
  }
  async function refreshMenu() {
    try {
      const data = await (await fetch(`/_sim/menu?channel=${S.channel}`, { cache: "no-store" })).json();
      const sig = JSON.stringify(data.menu);
      if (sig !== S.menuSig) { S.menuSig = sig; renderMenu(data.menu); }
    } catch (e) { /* ignore */ }
  }
  async function refreshChats() {
    const sel = $("#conv");
    if (S.channel !== "work") { sel.hidden = true; return; }
    try {
      const data = await (await fetch(`/_sim/chats?user=${encodeURIComponent(S.user)}`, { cache: "no-store" })).json();
      const chats = data.chats || [];
      const sig = JSON.stringify(chats.map((c) => [c.chatid, c.name, c.owner, c.userlist]));
      const current = chats.find((c) => c.chatid === S.conv);
      showChatInfo(current || null);
      if (sig === S.chatsSig) return;
      S.chatsSig = sig;
      sel.innerHTML = `<option value="">应用消息：${esc(BOOT.work_app)}</option>` +
        chats.map((c) => `<option value="${esc(c.chatid)}">群聊：${esc(c.name || "（未命名）")}（${c.userlist.length}人）</option>`).join("");
      sel.value = S.conv;
      sel.hidden = chats.length === 0;
    } catch (e) { /* ignore */ }
  }

  function showChatInfo(c) {
    const box = $("#chatinfo");
    box.hidden = !c;
    if (!c) return;
    $("#chatinfo-name").textContent = `群聊：${c.name || "（未命名）"}`;
    $("#chatinfo-count").textContent = `${c.userlist.length} 位成员 · 群主 ${c.owner}`;
    const list = $("#chatinfo-members");
    list.innerHTML = "";
    c.userlist.forEach((u) => {
      const li = document.createElement("li");
      li.textContent = u === c.owner ? `${u}（群主）` : u;
      list.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ menu
  function renderMenu(menu) {
    const bar = $("#menubar");
    bar.innerHTML = "";
    S.scanKeyFromMenu = null;
    (menu && menu.button || []).forEach((b) => {
      [b].concat(b.sub_button || []).forEach((x) => {
        if (!S.scanKeyFromMenu && /^scancode_/.test(x.type || "")) S.scanKeyFromMenu = x.key;
      });
      const item = document.createElement("div");
      item.className = "menu-item";
      const btn = document.createElement("button");
      btn.type = "button";
      btn.textContent = b.name;
      item.appendChild(btn);
      if (b.sub_button && b.sub_button.length) {
        btn.classList.add("has-sub");
        const sub = document.createElement("div");
        sub.className = "submenu";
        sub.hidden = true;
        b.sub_button.forEach((s) => {
          const sb = document.createElement("button");
          sb.type = "button";
          sb.textContent = s.name;
          sb.addEventListener("click", (ev) => { ev.stopPropagation(); sub.hidden = true; menuAction(s); });
          sub.appendChild(sb);
        });
        item.appendChild(sub);
        btn.addEventListener("click", (ev) => {
          ev.stopPropagation();
          const wasHidden = sub.hidden;
          closeSubmenus();
          sub.hidden = !wasHidden;
        });
      } else {
        btn.addEventListener("click", () => { closeSubmenus(); menuAction(b); });
      }
      bar.appendChild(item);
    });
  }
  function closeSubmenus() { document.querySelectorAll(".submenu").forEach((s) => { s.hidden = true; }); }
  document.addEventListener("click", closeSubmenus);

  function menuAction(b) {
    switch (b.type) {
      case "click": send({ kind: "click", key: b.key, name: b.name }); break;
      case "view":
      case "miniprogram":
        send({ kind: "view", url: b.url, name: b.name });
        if (safeUrl(b.url)) window.open(b.url, "_blank", "noopener");
        break;
      case "scancode_waitmsg":
      case "scancode_push":
        openScan(b.key, b.type); break;
      case "pic_sysphoto":
      case "pic_photo_or_album":
      case "pic_weixin":
        $("#photo-file").click(); break;
      case "location_select": openLocation(); break;
      default: toast(`模拟器暂不支持「${b.type}」类型的菜单`);
    }
  }

  // ------------------------------------------------------------------ actions
  async function send(action) {
    if (S.conv) { toast("群聊中的操作不会发给机器人"); return; }
    const res = await postJSON("/_sim/phone/send", Object.assign({ channel: S.channel, user: S.user }, action));
    await poll();
    return res;
  }
  async function sendText(text) {
    if (!text || !text.trim()) return;
    if (S.conv) {
      await postJSON("/_sim/phone/chat", { chat: S.conv, user: S.user, text });
      await poll();
      return;
    }
    const p = send({ kind: "text", text });
    setTimeout(poll, 150); // show the user's bubble while the product is answering
    await p;
  }

  $("#inputrow").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#text");
    const text = input.value;
    input.value = "";
    sendText(text);
  });

  async function sendMedia(kind, file) {
    const fd = new FormData();
    fd.append("channel", S.channel);
    fd.append("user", S.user);
    fd.append("kind", kind);
    fd.append("file", file);
    setTimeout(poll, 200);
    const r = await fetch("/_sim/phone/media", { method: "POST", body: fd });
    const data = await r.json().catch(() => ({}));
    if (!r.ok && data.error) toast(data.error);
    await poll();
  }
  [["photo-file", "image"], ["voice-file", "voice"], ["video-file", "video"]].forEach(([id, kind]) => {
    $("#" + id).addEventListener("change", (ev) => {
      const file = ev.target.files[0];
      ev.target.value = "";
      if (file) sendMedia(kind, file);
    });
  });

  function openLocation() {
    const dlg = $("#dlg-location");
    dlg.returnValue = "";
    dlg.showModal();
  }
  $("#dlg-location").addEventListener("close", () => {
    const dlg = $("#dlg-location");
    if (dlg.returnValue !== "ok") return;
    const f = dlg.querySelector("form");
    send({ kind: "location", lat: f.lat.value, lon: f.lon.value, label: f.label.value });
  });

  function openScan(key, event) {
    S.scanKey = key || "scan_patient";
    S.scanEvent = event || "scancode_waitmsg";
    const dlg = $("#dlg-scan");
    dlg.querySelector("form").reset();
    $("#scan-hint").textContent = "";
    dlg.returnValue = "";
    dlg.showModal();
  }
  $("#dlg-scan").querySelector("input[type=file]").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (!file) return;
    const hint = $("#scan-hint");
    hint.textContent = "识别中…";
    const fd = new FormData();
    fd.append("file", file);
    try {
      const data = await (await fetch("/_sim/decode-qr", { method: "POST", body: fd })).json();
      if (data.ok) {
        $("#dlg-scan").querySelector("textarea").value = data.text;
        hint.textContent = "";
      } else {
        hint.textContent = data.error || "识别失败，请粘贴二维码内容。";
      }
    } catch (e) {
      hint.textContent = "识别失败，请粘贴二维码内容。";
    }
  });
  $("#dlg-scan").addEventListener("close", () => {
    const dlg = $("#dlg-scan");
    if (dlg.returnValue !== "ok") return;
    const result = dlg.querySelector("textarea").value.trim();
    if (!result) { toast("请填写二维码内容"); return; }
    send({ kind: "scan", key: S.scanKey, event: S.scanEvent, scan_type: "qrcode", result });
  });

  $("#dlg-subscribe").addEventListener("close", () => {
    const dlg = $("#dlg-subscribe");
    if (dlg.returnValue !== "accept" && dlg.returnValue !== "reject") return;
    const tid = dlg.querySelector("input").value.trim();
    if (!tid) { toast("请填写模板 ID"); return; }
    send({ kind: "subscribe_msg", template_id: tid, status: dlg.returnValue });
  });

  document.querySelectorAll("#tools button").forEach((btn) => {
    btn.addEventListener("click", () => {
      switch (btn.dataset.action) {
        case "photo": $("#photo-file").click(); break;
        case "voice": $("#voice-file").click(); break;
        case "video": $("#video-file").click(); break;
        case "location": openLocation(); break;
        case "scan": openScan(S.scanKeyFromMenu || "scan_patient", "scancode_waitmsg"); break;
        case "subscribe_msg": { const d = $("#dlg-subscribe"); d.returnValue = ""; d.showModal(); break; }
        case "follow": send({ kind: "subscribe" }); break;
        case "enter_agent": send({ kind: "enter_agent" }); break;
        default: break;
      }
    });
  });

  $("#zoom").addEventListener("click", () => { $("#zoom").hidden = true; });

  // ------------------------------------------------------------------ role switching
  function applyRole() {
    $("#role").value = S.channel;
    $("#userid").value = S.user;
    $("#title").textContent = S.channel === "mp" ? BOOT.mp_account : BOOT.work_app;
    $("#subtitle").textContent = S.channel === "mp"
      ? `公众号（${BOOT.mp_mode}）· ${S.user}`
      : `企业微信应用 · ${S.user}`;
    document.querySelectorAll("#tools [data-role]").forEach((b) => { b.hidden = b.dataset.role !== S.channel; });
    document.cookie = `sim_${S.channel}_user=${encodeURIComponent(S.user)}; path=/; SameSite=Lax`;
    chat.innerHTML = "";
    S.rendered.clear();
    S.menuSig = "";
    S.chatsSig = "";
    S.conv = "";
    $("#conv").hidden = true;
    showChatInfo(null);
    $("#composer").classList.toggle("work", S.channel === "work");
    const url = new URL(location.href);
    url.searchParams.set("role", S.channel);
    url.searchParams.set("user", S.user);
    history.replaceState(null, "", url);
    refreshMenu();
    refreshChats();
    poll();
  }
  $("#role").addEventListener("change", () => {
    S.channel = $("#role").value;
    S.user = S.channel === "mp" ? BOOT.default_patient : BOOT.default_clinician;
    applyRole();
  });
  $("#switch").addEventListener("click", () => {
    const v = $("#userid").value.trim();
    if (!v) { toast("请填写用户标识"); return; }
    S.user = v;
    applyRole();
  });
  $("#conv").addEventListener("change", () => {
    S.conv = $("#conv").value;
    chat.innerHTML = "";
    S.rendered.clear();
    $("#menubar").hidden = !!S.conv;
    $("#tools").hidden = !!S.conv;
    S.chatsSig = "";
    refreshChats();
    poll();
  });

  applyRole();
  S.pollTimer = setInterval(poll, 1000);
  setInterval(() => { refreshMenu(); refreshChats(); }, 5000);
})();
