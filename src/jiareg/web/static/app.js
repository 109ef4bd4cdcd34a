// jiareg web: live scores and the joint homunculus on the visit form.
// Every score is computed on the server by the derive/ rules (POST /api/scores); this file
// only collects what was typed, sends it, and shows the answer.
"use strict";

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

  function fmt(value, missing) {
    if (value !== null && value !== undefined) return String(value);
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
    show("score-jadas10", fmt(s.jadas10, s.jadas10_missing));
    show("score-cjadas10", fmt(s.cjadas10, s.cjadas10_missing));
    const state = s.cjadas10_state;
    const stateEl = document.getElementById("score-state");
    const why = {
      systemic_features_present: "not applicable (active systemic features)",
      systemic_features_unknown: "not applicable (systemic features not assessed)",
    }[s.cjadas10_state_reason];
    stateEl.textContent = state || why || "—";
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
    circle.classList.remove("active", "limited", "both");
    if (state) circle.classList.add(["", "active", "limited", "both"][state]);
    const label = circle.querySelector("title").textContent;
    circle.setAttribute("aria-label", label + ": " + STATES[state]);
    document.getElementById("joint_exams").value = JSON.stringify(jointExams());
    const asked = jointExams();
    if (asked.length === 0) {
      show("joint-counts", "No joints marked.");
      form.elements.active_joints.value = 0;
      form.elements.lom_joints.value = 0;
    }
    schedule();
  }

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
