// jiareg web: live scores and the joint homunculus on the visit form.
// Every score is computed on the server by the derive/ rules (POST /api/scores); this file
// only collects what was typed, sends it, and shows the answer.
"use strict";

// table rows that stand for a record open it on click (the first cell's link does the same
// for the keyboard)
document.querySelectorAll("tr[data-href]").forEach((row) => {
  row.addEventListener("click", (event) => {
    if (event.target.closest("a, button")) return;
    window.location.href = row.dataset.href;
  });
});

(function () {
  const form = document.getElementById("visit-form");
  if (!form) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const joints = new Map(); // "joint|side" -> 0 normal, 1 active, 2 limited, 3 both
  const STATES = ["normal", "active", "limited", "active and limited"];
  const FIELDS = ["phys_global", "phys_global_scale", "parent_global", "parent_global_scale",
    "active_joints", "lom_joints", "esr", "chaq", "fever", "rash", "serositis",
    "hepatomegaly", "splenomegaly", "lymphadenopathy"];

  function flag(value) {
    return value === "yes" ? true : value === "no" ? false : null;
  }

  function jointExams() {
    const out = [];
    for (const [key, state] of joints) {
      if (state === 0) continue;
      const [joint, side] = key.split("|");
      const active = state === 1 || state === 3;
      const limited = state === 2 || state === 3;
      out.push({ joint, side, swollen: active, tender: active ? null : false,
        painful_motion: active ? null : false, limited_motion: limited });
    }
    return out;
  }

  function payload() {
    const body = { patient_id: form.dataset.patient, joint_exams: jointExams(),
      chaq_items: {}, chaq_aids: {} };
    const date = form.elements.visit_date.value;
    if (date) body.visit_date = date;
    for (const name of FIELDS) {
      const el = form.elements[name];
      const value = el.value.trim();
      if (["fever", "rash", "serositis", "hepatomegaly", "splenomegaly",
        "lymphadenopathy"].includes(name)) {
        body[name] = flag(value);
      } else if (value !== "") {
        body[name] = value;
      }
    }
    form.querySelectorAll("[data-chaq-item]").forEach((el) => {
      if (el.value !== "") body.chaq_items[el.dataset.chaqItem] = Number(el.value);
    });
    form.querySelectorAll("[data-chaq-aid]").forEach((el) => {
      if (el.checked) body.chaq_aids[el.dataset.chaqAid] = true;
    });
    if (Object.keys(body.chaq_items).length === 0) { delete body.chaq_items; delete body.chaq_aids; }
    return body;
  }

  function show(id, text) {
    document.getElementById(id).textContent = text;
  }

  function fmt(value, missing, why) {
    if (value !== null && value !== undefined) return String(value);
    if (why && !(missing && missing.length)) return why;
    return missing && missing.length ? "needs " + missing.join(", ") : "—";
  }

  let pending = null;
  let serial = 0;
  async function refresh() {
    const mine = ++serial;
    const response = await fetch("/api/scores", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload()),
    });
    if (mine !== serial) return; // a newer answer is on its way
    if (!response.ok) { show("score-note", "Scores unavailable (" + response.status + ")."); return; }
    const s = await response.json();
    show("score-jadas10", fmt(s.jadas10, s.jadas10_missing, s.jadas10_why));
    show("score-cjadas10", fmt(s.cjadas10, s.cjadas10_missing, s.cjadas10_why));
    const state = s.cjadas10_state;
    const stateEl = document.getElementById("score-state");
    stateEl.textContent = state || s.cjadas10_why || "—";
    stateEl.className = state ? "state state-" + state : "";
    const acr = s.acr_pedi || {};
    show("score-acr", acr.level !== null && acr.level !== undefined
      ? "ACR Pedi " + acr.level + " (" + acr.drug + ", baseline " + acr.baseline_date + ")"
      : (acr.reason || "—"));
    show("score-chaq", s.chaq && s.chaq.display ? s.chaq.display + " (" + s.chaq.n_domains + " domains)" : "—");
    show("score-note", "Cut-offs: " + s.cutoff_set + (s.course ? ", " + s.course + " course" : ""));
    const list = document.getElementById("score-problems");
    list.replaceChildren(...s.problems.map((p) => {
      const li = document.createElement("li");
      li.textContent = p.field + ": " + p.message;
      return li;
    }));
    const counts = s.joint_counts_from_exam || {};
    if ("active_joints" in counts) {
      if (counts.active_joints !== null) form.elements.active_joints.value = counts.active_joints;
      form.elements.lom_joints.value = counts.lom_joints;
      show("joint-counts", counts.active_joints + " active, " + counts.lom_joints + " limited (from the homunculus)");
    }
  }

  function schedule() {
    clearTimeout(pending);
    pending = setTimeout(refresh, 120);
  }

  function cycle(circle) {
    const key = circle.dataset.joint + "|" + circle.dataset.side;
    const state = ((joints.get(key) || 0) + 1) % 4;
    joints.set(key, state);
    paint(circle, state);
    form.dispatchEvent(new Event("input"));  // a marked joint is unsaved typing too
    document.getElementById("joint_exams").value = JSON.stringify(jointExams());
    const asked = jointExams();
    if (asked.length === 0) {
      show("joint-counts", "No joints marked.");
      form.elements.active_joints.value = 0;
      form.elements.lom_joints.value = 0;
    }
    schedule();
  }

  function paint(circle, state) {
    circle.classList.remove("active", "limited", "both");
    if (state) circle.classList.add(["", "active", "limited", "both"][state]);
    const label = circle.querySelector("title").textContent;
    circle.setAttribute("aria-label", label + ": " + STATES[state]);
  }

  // the joints already marked (a stored visit, or a refused save) come back in the hidden field
  let marked = [];
  try { marked = JSON.parse(document.getElementById("joint_exams").value || "[]"); } catch (e) { marked = []; }
  for (const j of marked) {
    const active = j.swollen === true || j.tender === true || j.painful_motion === true;
    const state = (active ? 1 : 0) + (j.limited_motion === true ? 2 : 0);
    const circle = document.querySelector(
      '#homunculus .joint[data-joint="' + CSS.escape(j.joint) + '"][data-side="' + CSS.escape(j.side || "") + '"]');
    if (!circle || !state) continue;
    joints.set(j.joint + "|" + (j.side || ""), state);
    paint(circle, state);
  }
  if (marked.length) {
    const n = jointExams();
    show("joint-counts", n.filter((j) => j.swollen).length + " active, " +
      n.filter((j) => j.limited_motion).length + " limited (from the homunculus)");
  }

  // a date that already has a visit: offer that visit instead of a new one
  const dates = new Set((form.dataset.dates || "").split(" ").filter(Boolean));
  const dateInput = form.elements.visit_date;
  const exists = document.getElementById("date-exists");
  function checkDate() {
    if (!exists) return;
    const taken = dates.has(dateInput.value);
    exists.hidden = !taken;
    if (taken) {
      document.getElementById("date-exists-link").href =
        "/patients/" + encodeURIComponent(form.dataset.patient) + "/visits/" + dateInput.value;
    }
  }
  if (exists) { dateInput.addEventListener("change", checkDate); checkDate(); }

  document.querySelectorAll("#homunculus .joint").forEach((circle) => {
    circle.addEventListener("click", () => cycle(circle));
    circle.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); cycle(circle); }
    });
  });
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  schedule();
})();

// the infusion form: the label dose for this child and whether the typed dose is off it
// (GET /api/patients/{id}/dose-check, the derive/ dosing rules)
(function () {
  const form = document.querySelector('#record-form[data-table="administrations"]');
  if (!form) return;
  const out = document.getElementById("dose-check");
  let serial = 0;
  async function check() {
    const drug = form.elements.drug.value.trim();
    const weight = form.elements.weight_kg.value.trim();
    if (!drug || !weight) { out.hidden = true; return; }
    const mine = ++serial;
    const query = new URLSearchParams({ drug: drug, weight_kg: weight, dose_mg: form.elements.dose_mg.value.trim() });
    const response = await fetch("/api/patients/" + encodeURIComponent(form.dataset.patient) +
      "/dose-check?" + query, { credentials: "same-origin" });
    if (mine !== serial || !response.ok) return;
    const c = await response.json();
    out.hidden = false;
    if (c.problem) { out.textContent = c.problem; return; }
    const label = c.expected_mg === null ? "no label dose" : "label dose " + c.expected_mg + " mg (" + c.route + ")";
    out.textContent = label + (c.flags.length ? " — warning: " + c.meanings.join("; ") : " — the dose matches the label");
    out.classList.toggle("dose-warning", c.flags.includes("DOSE_DEVIATION"));
  }
  form.addEventListener("input", () => { clearTimeout(form.pending); form.pending = setTimeout(check, 150); });
  check();
})();

// leaving a form with unsaved typing asks first (the browser's own "leave page?" question)
(function () {
  const forms = document.querySelectorAll("#visit-form, #record-form");
  if (!forms.length) return;
  let dirty = false;
  forms.forEach((f) => {
    f.addEventListener("input", () => { dirty = true; });
    f.addEventListener("change", (event) => { if (event.isTrusted) dirty = true; });
    f.addEventListener("submit", () => { dirty = false; });
  });
  window.addEventListener("beforeunload", (event) => {
    if (!dirty) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
