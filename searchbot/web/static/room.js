// The command room page: the Telegram Mini App for officers (/app) and the station's
// read-only screen (/screen). No script from telegram.org: the init data is read from the URL
// fragment (tgWebAppData), the way Telegram hands it to a Mini App, and sent with every call.
"use strict";

(function () {
  const COLOURS = { alerted: "#ff9800", checked: "#4caf50", waiting: "#9e9e9e", gone: "#424242" };
  const SIGHTING = { true: "#d32f2f", false: "#9e9e9e", null: "#7b1fa2" };
  const query = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  const initData = fragment.get("tgWebAppData");
  const token = query.get("token");
  const headers = initData ? { "X-Telegram-Init-Data": initData } : { "X-Screen-Token": token || "" };
  const $ = (id) => document.getElementById(id);
  let texts = {};
  let me = null;
  let map = null;
  let drawn = null;
  let framed = -1;  // how many rings the view was last fitted to
  let caseId = query.get("case") ? Number(query.get("case")) : null;

  function t(key, values) {
    let text = texts[key] || key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.split("{" + name + "}").join(String(value));
    }
    return text;
  }

  function el(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  // Text, never HTML: Leaflet writes a string tooltip with innerHTML, and a group's title, a
  // family's words or a sighter's place are whatever a stranger typed. A tooltip gets a node.
  function tip(text) {
    return el("span", text);
  }

  // The card, the status line and the answers to actions are the bot's own Telegram HTML
  // (values escaped by the server). They are rebuilt from text nodes and a few inline tags, so
  // that even a value the server failed to escape could add no element and no attribute.
  const INLINE = new Set(["B", "STRONG", "I", "EM", "U", "INS", "S", "STRIKE", "DEL", "CODE", "PRE"]);

  function telegramHtml(markup) {
    const parsed = new DOMParser().parseFromString(String(markup || ""), "text/html");
    const out = document.createDocumentFragment();
    copyText(parsed.body, out);
    return out;
  }

  function copyText(from, to) {
    for (const node of from.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        to.appendChild(document.createTextNode(node.nodeValue));
      } else if (node.nodeType === Node.ELEMENT_NODE && INLINE.has(node.tagName)) {
        const copy = document.createElement(node.tagName.toLowerCase());
        copyText(node, copy);
        to.appendChild(copy);
      } else if (node.nodeType === Node.ELEMENT_NODE && node.tagName !== "SCRIPT" && node.tagName !== "STYLE") {
        copyText(node, to);  // any other element (a link, say): its text only
      }
    }
  }

  function show(id, markup) {
    $(id).replaceChildren(telegramHtml(markup));
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ headers: headers }, options || {}));
    if (response.status === 401 || response.status === 403) throw new Error("denied");
    if (!response.ok) throw new Error("http " + response.status);
    return response.json();
  }

  async function loadTexts(lang) {
    texts = await (await fetch("/api/texts?lang=" + encodeURIComponent(lang))).json();
  }

  function setUpMap() {
    map = L.map("map", { zoomControl: true });
    if (me.tiles) {
      L.tileLayer(me.tiles, {
        maxZoom: 19,
        attribution: "&copy; OpenStreetMap contributors",
      }).addTo(map);
    }
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([31.2304, 121.4737], 14);
    const legend = $("legend");
    for (const state of Object.keys(COLOURS)) {
      const item = el("li");
      item.appendChild(el("span", "", { class: "sb-legend-dot", style: "background:" + COLOURS[state] }));
      item.appendChild(document.createTextNode(t("room_state_" + state)));
      legend.appendChild(item);
    }
  }

  function draw(data) {
    if (drawn) drawn.remove();
    drawn = L.layerGroup().addTo(map);
    for (const spot of data.blind_spots) {
      L.polygon(spot.boundary, {
        className: "sb-blind-spot", color: "#e53935", weight: 0.3, opacity: 0.4, fillOpacity: 0.1,
      }).bindTooltip(tip(t("room_blind_spot"))).addTo(drawn);
    }
    let widest = null;
    for (const ring of data.rings) {
      const circle = L.circle([ring.lat, ring.lon], {
        radius: ring.radius_m, className: "sb-ring", color: "#1e88e5", weight: 2, fill: false,
      });
      circle.bindTooltip(tip(ringText(ring))).addTo(drawn);
      widest = circle;
    }
    for (const group of data.groups) {
      L.circleMarker([group.lat, group.lon], {
        radius: 7, className: "sb-group sb-group-" + group.state, color: "#fff", weight: 1.5,
        fillColor: COLOURS[group.state], fillOpacity: 0.95,
      }).bindTooltip(tip(groupText(group))).addTo(drawn);
    }
    for (const s of data.sightings) {
      if (s.lat === null || s.lon === null) continue;
      const number = el("div", String(s.number), { class: "sb-sighting-icon" });
      number.style.background = SIGHTING[s.credible];
      const icon = L.divIcon({
        className: "sb-sighting sb-sighting-" + judged(s), html: number, iconSize: [24, 24],
      });
      L.marker([s.lat, s.lon], { icon: icon }).bindTooltip(tip(sightingText(s))).addTo(drawn);
    }
    L.circleMarker(data.last_seen, {
      radius: 8, className: "sb-last-seen", color: "#000", weight: 3, fillColor: "#fff", fillOpacity: 1,
    }).bindTooltip(tip(t("room_last_seen"))).addTo(drawn);
    if (data.centre[0] !== data.last_seen[0] || data.centre[1] !== data.last_seen[1]) {
      L.circleMarker(data.centre, {
        radius: 6, className: "sb-centre", color: "#1e88e5", weight: 3, fillColor: "#1e88e5", fillOpacity: 1,
      }).bindTooltip(tip(t("room_centre"))).addTo(drawn);
    }
    if (framed !== data.rings.length) {  // first drawing, or a new ring: show all of it
      if (widest) map.fitBounds(widest.getBounds(), { padding: [20, 20], animate: false });
      else map.setView(data.last_seen, 16, { animate: false });
      framed = data.rings.length;
    }
  }

  // Officers see an approved group's title; the screen (and a group awaiting approval) only
  // its role: the wall of a station is no list of who helps where by name.
  function groupText(group) {
    const who = group.title || t("role_" + group.role);
    return who + " — " + t("room_state_" + group.state);
  }

  function judged(s) {
    return s.credible === true ? "credible" : s.credible === false ? "not-credible" : "unjudged";
  }

  function ringText(ring) {
    if (!ring.time) return t("room_ring_waiting", { number: ring.number, radius: ring.radius_m });
    return t("room_ring", { number: ring.number, radius: ring.radius_m, time: ring.time });
  }

  function sightingText(s) {
    const key = s.credible === true ? "room_credible" : s.credible === false ? "room_not_credible" : "room_unjudged";
    return t("room_sighting", { number: s.number, minutes: s.minutes, judged: t(key) });
  }

  function panel(data) {
    $("list").hidden = true;
    $("case").hidden = false;
    show("card", data.card);
    show("status", data.status_line);
    $("counts").textContent = t("room_counts", data.counts);
    const rings = $("rings");
    rings.replaceChildren(...data.rings.map((ring) => el("li", ringText(ring), { class: "sb-ring-line" })));
    const list = $("sightings");
    list.replaceChildren();
    for (const s of data.sightings) {
      const item = el("li", sightingText(s) + (s.place ? " · " + s.place : ""), { class: "sb-sighting-line" });
      if (data.can_act && s.credible === null) {
        item.appendChild(button(texts.btn_credible, "judge-" + s.id, () => act("/api/sightings/" + s.id + "/judge", { credible: true }, texts.btn_credible)));
        item.appendChild(button(texts.btn_not_credible, "judge-no-" + s.id, () => act("/api/sightings/" + s.id + "/judge", { credible: false }, texts.btn_not_credible)));
      }
      list.appendChild(item);
    }
    const actions = $("actions");
    actions.replaceChildren();
    if (data.can_act) {
      const base = "/api/cases/" + data.id;
      if (!data.verified) actions.appendChild(button(texts.btn_verify, "verify", () => act(base + "/verify", {})));
      if (data.stage < data.stages) actions.appendChild(button(texts.btn_escalate, "escalate", () => act(base + "/escalate", {})));
      for (const [outcome, key] of [["found", "btn_close_found"], ["false_alarm", "btn_close_false"], ["withdrawn", "btn_close_withdrawn"]]) {
        actions.appendChild(button(texts[key], "close-" + outcome, () => act(base + "/close", { outcome: outcome }, texts[key], data.ref)));
      }
    } else if (data.status !== "open") {
      actions.appendChild(el("p", t("room_case_closed")));
    }
    $("history").replaceChildren(...data.history.map((h) =>
      el("li", h.time + " " + h.action + (h.actor ? " (" + h.actor + ")" : ""))));
  }

  function button(label, name, onClick) {
    const b = el("button", label, { "data-action": name, type: "button" });
    b.addEventListener("click", onClick);
    return b;
  }

  async function act(path, body, confirmLabel, ref) {
    if (confirmLabel && ref && !window.confirm(t("room_confirm", { action: confirmLabel, ref: ref }))) return;
    for (const b of document.querySelectorAll("#panel button")) b.disabled = true;
    try {
      const result = await api(path, {
        method: "POST",
        headers: Object.assign({ "Content-Type": "application/json" }, headers),
        body: JSON.stringify(body),
      });
      show("toast", result.message || "");
    } catch (error) {
      $("toast").textContent = t("room_not_allowed");
    }
    await refresh();
    // a refresh that failed left the old panel: its buttons must not stay disabled
    for (const b of document.querySelectorAll("#panel button")) b.disabled = false;
  }

  let retry = null;
  async function refresh() {
    if (caseId === null) return showList();
    let data;
    try {
      data = await api("/api/cases/" + caseId);
    } catch (error) {
      // a hiccup (not a refusal): look again in a second, once, however many asked
      if (error.message !== "denied" && !retry) {
        retry = setTimeout(() => { retry = null; refresh(); }, 1000);
      }
      return deny(error);
    }
    draw(data);
    panel(data);
    document.body.dataset.caseVersion = String(Number(document.body.dataset.caseVersion || 0) + 1);
  }

  async function showList() {
    let data;
    try {
      data = await api("/api/cases");
    } catch (error) {
      return deny(error);
    }
    $("case").hidden = true;
    const list = $("list");
    list.hidden = false;
    list.replaceChildren(el("h2", t("room_open_cases")));
    if (!data.cases.length) list.appendChild(el("p", t("room_no_cases")));
    for (const c of data.cases) {
      const link = el("a", null, { href: "#", class: "sb-case-link" });
      link.appendChild(el("b", c.ref + " "));
      link.appendChild(document.createTextNode(c.age + ", " + c.sex + " — " + c.place));
      link.appendChild(el("br"));
      link.appendChild(document.createTextNode(
        t("room_minutes", { minutes: c.minutes }) + " · " + t("room_stage", { stage: c.stage, stages: c.stages }) +
        " · " + t("room_counts", c.counts)));
      link.addEventListener("click", (event) => { event.preventDefault(); open(c.id); });
      list.appendChild(link);
    }
  }

  function open(id) {
    caseId = id;
    framed = -1;
    refresh();
  }

  function deny(error) {
    if (error.message === "denied") {
      $("notice").hidden = false;
      $("notice").textContent = t("room_not_allowed");
      $("case").hidden = true;
      $("list").hidden = true;
    }
  }

  // The live stream: Server-Sent Events read with fetch (EventSource cannot send headers).
  async function listen() {
    for (;;) {
      try {
        const response = await fetch("/api/events", { headers: headers });
        if (!response.ok) throw new Error("http " + response.status);
        $("live").classList.remove("off");
        $("live").textContent = t("room_live");
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            onEvent(block);
          }
        }
      } catch (error) {
        // fall through: reconnect
      }
      $("live").classList.add("off");
      $("live").textContent = t("room_reconnecting");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  let pending = null;
  function onEvent(block) {
    if (!block.startsWith("event: case")) return;
    const data = JSON.parse(block.split("\ndata: ")[1] || "{}");
    if (caseId !== null && data.case !== 0 && data.case !== caseId) return;
    if (pending) return;  // one refetch for a burst of changes
    pending = setTimeout(() => { pending = null; refresh(); }, 150);
  }

  async function main() {
    const guess = (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
    try {
      me = await api("/api/me");
    } catch (error) {
      await loadTexts(guess);
      return deny(error);
    }
    await loadTexts(me.language);
    document.documentElement.lang = me.language;
    $("title").textContent = me.can_act ? t("room_title") : t("room_read_only");
    $("history-title").textContent = t("room_history");
    const back = $("back");
    back.textContent = t("room_all_cases");
    back.addEventListener("click", (event) => { event.preventDefault(); caseId = null; if (drawn) drawn.remove(); refresh(); });
    setUpMap();
    await refresh();
    listen();
  }

  main();
})();
