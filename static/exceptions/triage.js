// Keyboard triage for the exception list and detail; everything here has a no-JS fallback
// (links and plain forms), so this file only adds speed.
(function () {
  "use strict";
  let selectedId = null;
  const checked = new Set();

  const rows = () => Array.from(document.querySelectorAll("[data-keyboard-list] tbody tr[data-id]"));
  const csrf = () => { try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; } };

  function select(row) {
    rows().forEach((r) => r.classList.toggle("selected", r === row));
    if (row) { selectedId = row.dataset.id; row.scrollIntoView({ block: "nearest" }); }
  }
  function current() { return rows().find((r) => r.dataset.id === selectedId) || null; }
  function move(delta) {
    const all = rows(); if (!all.length) return;
    const i = all.indexOf(current());
    select(all[Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + delta))]);
  }
  function restore() {
    // A periodic refresh replaced the rows: keep the selection and the ticked boxes.
    const row = current(); if (row) row.classList.add("selected");
    rows().forEach((r) => {
      const box = r.querySelector("input[name=ids]");
      if (box && checked.has(r.dataset.id)) { box.checked = true; r.classList.add("checked"); }
    });
    const count = document.getElementById("selected-count"); if (count) count.textContent = checked.size;
  }
  function assignMe(row) {
    if (!row) return;
    const body = new URLSearchParams({ assignee: "me", from: "list" });
    if (window.htmx) {
      htmx.ajax("POST", row.dataset.assign, { values: { assignee: "me", from: "list" }, swap: "none" });
    } else {
      fetch(row.dataset.assign, { method: "POST", body, headers: { "X-CSRFToken": csrf() } }).then(() => location.reload());
    }
  }

  document.addEventListener("keydown", (event) => {
    const t = event.target;
    if (t && (t.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName))) return;
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    const onList = rows().length > 0;
    const help = document.getElementById("shortcuts");
    switch (event.key) {
      case "?": if (help) { help.open ? help.close() : help.showModal(); } break;
      case "j": if (onList) move(1); break;
      case "k": if (onList) move(-1); break;
      case "o": case "Enter": if (onList && current()) location.href = current().dataset.href; else return; break;
      case "x": {
        const box = current() && current().querySelector("input[name=ids]");
        if (box) { box.checked = !box.checked; box.dispatchEvent(new Event("change", { bubbles: true })); }
        break;
      }
      case "a":
        if (onList) assignMe(current());
        else { const b = document.querySelector("[data-assign-me]"); if (b) b.click(); }
        break;
      case "r":
        if (onList && current()) location.href = current().dataset.href + "#resolve";
        else { const r = document.getElementById("resolve"); if (r) { r.scrollIntoView(); const f = r.querySelector("input:not([type=hidden]), button"); if (f) f.focus(); } }
        break;
      case "e": {
        // Resolve and next: the row's one-click resolution (held for the undo window).
        const quick = current() && current().querySelector("[data-quick] button");
        if (quick) quick.click(); else return;
        break;
      }
      case "z": {
        const undo = document.querySelector("#undo-toast [data-undo]");
        if (undo) undo.click(); else return;
        break;
      }
      case "c":
        if (onList && current()) location.href = current().dataset.href + "#comment";
        else { const c = document.querySelector("#comment textarea"); if (c) { c.scrollIntoView({ block: "center" }); c.focus(); } }
        break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("click", (event) => {
    const chip = event.target.closest("[data-material]");
    if (chip) {
      const input = chip.closest("form").querySelector("input[name='sap_material[]']");
      if (input) input.value = chip.dataset.material;
      return;
    }
    const row = event.target.closest("[data-keyboard-list] tbody tr[data-id]");
    if (!row || event.target.closest("a, input, button, label")) return;
    if (row.dataset.id === selectedId) location.href = row.dataset.href; else select(row);
  });

  document.addEventListener("change", (event) => {
    const t = event.target;
    if (t.matches("input[data-select-all]")) {
      rows().forEach((r) => { const b = r.querySelector("input[name=ids]"); if (b) { b.checked = t.checked; b.dispatchEvent(new Event("change", { bubbles: true })); } });
      return;
    }
    if (t.matches("input[name=ids]")) {
      const row = t.closest("tr");
      if (t.checked) checked.add(t.value); else checked.delete(t.value);
      if (row) row.classList.toggle("checked", t.checked);
      const count = document.getElementById("selected-count"); if (count) count.textContent = checked.size;
    }
  });

  // "Assign to…" needs a person; the picker shows only then (without JS it is always there).
  function syncBulkBar() {
    const action = document.querySelector("[data-bulk-action]");
    const who = document.querySelector("[data-bulk-assignee]");
    if (action && who) who.hidden = action.value !== "assign";
  }
  document.addEventListener("change", (event) => { if (event.target.matches("[data-bulk-action]")) syncBulkBar(); });

  // Resolve and next: the selection moves on as soon as the resolution is asked for, and focus
  // stays on the list (the clicked button's row is about to be re-rendered).
  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = event.target.closest && event.target.closest("[data-quick]");
    if (!form) return;
    const row = form.closest("tr[data-id]");
    const all = rows();
    const next = all[all.indexOf(row) + 1] || all[all.indexOf(row) - 1];
    if (next) select(next);
    focusSelected();
  });
  function focusSelected() {
    const row = current();
    const link = row && row.querySelector("td.title a");
    if (link) link.focus({ preventScroll: true });
  }

  // The undo toast counts down; when the window is over the rows and counts ask again.
  let countdown = null;
  function startCountdown() {
    const toast = document.getElementById("undo-toast");
    if (countdown) { clearInterval(countdown); countdown = null; }
    if (!toast || !toast.dataset.due) return;
    const due = Number(toast.dataset.due) * 1000 + 999;
    const out = toast.querySelector("[data-countdown]");
    countdown = setInterval(() => {
      const left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
      if (out) out.textContent = String(left);
      if (left <= 0) {
        clearInterval(countdown); countdown = null;
        toast.classList.remove("live");
        const text = toast.querySelector("span"); if (text) text.textContent = "Applied: the deal is re-running.";
        const undo = toast.querySelector("form"); if (undo) undo.remove();
        // Give the worker a moment, then refresh the rows and the sidebar counts.
        setTimeout(() => { if (window.htmx) htmx.trigger(document.body, "exceptionResolved"); }, 1500);
      }
    }, 250);
  }

  function syncSnooze() {
    const pick = document.querySelector("[data-snooze-condition]");
    const time = document.querySelector("[data-snooze-time]");
    if (pick && time) time.hidden = pick.value !== "time";
  }
  document.addEventListener("change", (event) => { if (event.target.matches("[data-snooze-condition]")) syncSnooze(); });

  document.addEventListener("htmx:afterSwap", (event) => {
    restore();
    const toast = document.getElementById("undo-toast");
    if (toast && !toast.dataset.started) { toast.dataset.started = "1"; startCountdown(); }
    if (document.activeElement === document.body || !document.activeElement) focusSelected();
  });
  document.addEventListener("DOMContentLoaded", () => {
    syncBulkBar();
    syncSnooze();
    const first = rows()[0]; if (first) select(first);
    if (location.hash === "#comment") { const c = document.querySelector("#comment textarea"); if (c) c.focus(); }
  });
})();
