// A child's weekly pattern: days of the week, a start time on each (local wall-clock time), one duration, kind and
// place. Sent as POST /enrolments/{enrolment_id}/patterns (with its Idempotency-Key, made once); the sessions it
// plans arrive by the sync feed. The cohort's weekly cap is checked here when the phone knows it, and always by the
// server (409 pattern_exceeds_weekly_cap), whose refusal the outbox keeps and shows.

import { Refused, call } from "./api.js";
import { button, dateValue, el, field } from "./dom.js";
import { queueRequest } from "./outbox.js";
import * as store from "./store.js";

/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Pattern} Pattern */
/** @typedef {import("./types.js").Schemas["PatternCreate"]} PatternCreate */
/** @typedef {import("./types.js").Schemas["Cohort"]} Cohort */

const COHORTS = "cohorts";

/** ISO weekdays, 1 = Monday. */
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/** @type {Record<"one_to_one" | "phone_video", string>} */
const KINDS = { one_to_one: "Face to face", phone_video: "Phone or video call" };

/** @type {Record<PatternCreate["location_category"], string>} */
const LOCATIONS = {
  home: "Home",
  school: "School",
  community_venue: "Community venue",
  outdoors: "Outdoors",
  online: "Online",
};

/**
 * The cohorts of the children held (their weekly cap and kind), kept on the phone: fetched when missing.
 */
export async function fetchCohorts() {
  const known = await cohorts();
  const wanted = new Set(
    (await store.children()).flatMap((child) => (child.enrolment === null ? [] : [child.enrolment.cohort_id])),
  );
  let changed = false;
  for (const cohortId of wanted) {
    if (known[cohortId] === undefined) {
      try {
        known[cohortId] = /** @type {Cohort} */ ((await call(`/cohorts/${encodeURIComponent(cohortId)}`)).body);
        changed = true;
      } catch (problem) {
        // Not readable (or gone): the server still checks the cap when the pattern is sent.
        if (!(problem instanceof Refused && problem.status < 500)) {
          throw problem;
        }
      }
    }
  }
  if (changed) {
    await store.putMeta(COHORTS, known);
  }
}

/** @returns {Promise<Record<string, Cohort>>} */
export async function cohorts() {
  const held = await store.getMeta(COHORTS);
  return /** @type {Record<string, Cohort>} */ (held ?? {});
}

/**
 * The child's cohort, if the phone holds it.
 * @param {Child} child
 * @returns {Promise<Cohort | undefined>}
 */
export async function cohortOf(child) {
  return child.enrolment === null ? undefined : (await cohorts())[child.enrolment.cohort_id];
}

/**
 * "Tuesdays and Thursdays at 17:30, 60 min": a pattern in words.
 * @param {{ slots: { [key: string]: unknown }[], duration_minutes: number }} pattern
 */
export function patternWords(pattern) {
  /** @type {Map<string, number[]>} */
  const byTime = new Map();
  for (const slot of pattern.slots) {
    const start = String(slot.start);
    byTime.set(start, [...(byTime.get(start) ?? []), Number(slot.weekday)]);
  }
  const list = (/** @type {string[]} */ words) =>
    words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} and ${words[words.length - 1]}`;
  const times = [...byTime.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([start, days]) => `${list([...days].sort().map((day) => `${DAYS[day - 1]}s`))} at ${start}`);
  return `${list(times)}, ${pattern.duration_minutes} min`;
}

/**
 * The child's current patterns, in words (for their page).
 * @param {Child} child
 */
export async function patternsSection(child) {
  const held = /** @type {Pattern[]} */ (await store.records(store.PATTERNS));
  const current = held
    .filter((pattern) => pattern.child_id === child.id && pattern.ended_at === null)
    .sort((a, b) => a.starts_on.localeCompare(b.starts_on));
  return [
    el("h2", {}, ["Weekly pattern"]),
    current.length === 0
      ? el("p", {}, ["None set."])
      : el(
          "ul",
          { class: "plain" },
          current.map((pattern) =>
            el("li", {}, [
              `${patternWords(pattern)} · ${KINDS[pattern.kind === "phone_video" ? "phone_video" : "one_to_one"]} · ` +
                `${LOCATIONS[pattern.location_category]} · until ${pattern.ends_on}`,
            ]),
          ),
        ),
  ];
}

/**
 * Set a weekly pattern.
 * @param {{ child: Child, cohort: Cohort | undefined, now: Date }} data
 * @param {{ onSave: (pattern: PatternCreate) => void, onCancel: () => void }} actions
 */
export function patternForm({ child, cohort, now }, { onSave, onCancel }) {
  const cap = cohort?.max_sessions_per_week;
  const days = DAYS.map((day, index) => {
    const box = el("input", { type: "checkbox", id: `day-${index + 1}`, name: "days", value: String(index + 1) });
    const time = el("input", { type: "time", required: true, value: "17:00", step: "60" });
    const timeField = field(`time-${index + 1}`, `Start time on ${day}s`, time);
    // The day's time is on the page (and in the keyboard's way) only while the day is chosen.
    const slot = el("div", { class: "slot" }, [
      el("div", { class: "choice" }, [box, el("label", { for: `day-${index + 1}` }, [day])]),
    ]);
    box.addEventListener("change", () => {
      if (box.checked) {
        slot.append(timeField);
      } else {
        timeField.remove();
      }
    });
    return { weekday: index + 1, box, time, slot };
  });
  const duration = el("input", {
    type: "number",
    inputmode: "numeric",
    min: "15",
    max: "480",
    required: true,
    value: "60",
  });
  const kind = el("select", {});
  for (const [value, words] of Object.entries(KINDS)) {
    kind.append(el("option", { value }, [words]));
  }
  const location = el("select", {});
  for (const [value, words] of Object.entries(LOCATIONS)) {
    location.append(el("option", { value, selected: value === "community_venue" }, [words]));
  }
  const startsOn = el("input", { type: "date", required: true, value: dateValue(now), min: dateValue(now) });
  const problem = el("div", { class: "problem", role: "alert", tabindex: "-1", hidden: true });
  const form = el("form", { novalidate: true }, [
    el("fieldset", {}, [
      el("legend", {}, ["Which days"]),
      el("p", { class: "hint", id: "days-hint" }, [
        cap === undefined
          ? "Choose the days, then the start time on each."
          : `Choose up to ${cap} ${cap === 1 ? "day" : "days"} (the most sessions a week their programme allows), then the start time on each.`,
      ]),
      ...days.map(({ slot }) => slot),
    ]),
    field("pattern-duration", "How long each session lasts (minutes)", duration),
    field("pattern-kind", "How", kind),
    field("pattern-location", "Where", location),
    field("starts-on", "Starting from", startsOn),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Set the pattern"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = days.filter(({ box }) => box.checked);
    const minutes = Number(duration.value);
    /** @type {string | null} */
    let refusal = null;
    if (chosen.length === 0) {
      refusal = "Choose at least one day.";
    } else if (cap !== undefined && chosen.length > cap) {
      refusal = `Their programme allows at most ${cap} ${cap === 1 ? "session" : "sessions"} a week: choose fewer days.`;
    } else if (chosen.some(({ time }) => !/^([01]\d|2[0-3]):[0-5]\d$/.test(time.value.slice(0, 5)))) {
      refusal = "Enter the start time on each day chosen.";
    } else if (!Number.isInteger(minutes) || minutes < 15 || minutes > 480) {
      refusal = "Enter how long, in minutes, from 15 to 480.";
    } else if (startsOn.value === "" || startsOn.value < dateValue(now)) {
      refusal = "Enter the day it starts from: today or later.";
    }
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      problem.focus();
      return;
    }
    onSave({
      slots: chosen.map(({ weekday, time }) => ({ weekday, start: time.value.slice(0, 5) })),
      duration_minutes: minutes,
      kind: kind.value === "phone_video" ? "phone_video" : "one_to_one",
      location_category: /** @type {PatternCreate["location_category"]} */ (location.value),
      starts_on: startsOn.value,
    });
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  const name = `${child.first_name} ${child.last_name.slice(0, 1)}.`;
  return el("section", {}, [el("h1", { tabindex: "-1" }, [`Set a weekly pattern: ${name}`]), form, cancel]);
}

/**
 * Queue the pattern, to be sent by the outbox; the answer (the pattern) is kept with the child's patterns.
 * @param {Child} child
 * @param {PatternCreate} pattern
 */
export async function queuePattern(child, pattern) {
  if (child.enrolment === null) {
    throw new Error("A pattern needs the child's enrolment");
  }
  await queueRequest({
    childId: child.id,
    label: `Weekly pattern · ${patternWords(pattern)}`,
    method: "POST",
    path: `/enrolments/${encodeURIComponent(child.enrolment.id)}/patterns`,
    body: pattern,
    keepIn: store.PATTERNS,
  });
}
