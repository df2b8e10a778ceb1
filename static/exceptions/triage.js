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

  document.addEventListener("htmx:afterSwap", restore);
  document.addEventListener("DOMContentLoaded", () => {
    syncBulkBar();
    const first = rows()[0]; if (first) select(first);
    if (location.hash === "#comment") { const c = document.querySelector("#comment textarea"); if (c) c.focus(); }
  });
})();
