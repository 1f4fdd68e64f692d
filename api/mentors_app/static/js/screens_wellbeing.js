// A child's wellbeing in the mentors' app: their goals with the latest rating, the change since the first check-in
// per instrument (read on the phone from the check-ins the feed keeps, as of the last sync), and the screens to
// record a check-in done together, set a goal, and mark one achieved, dropped or reworded. Instruments come as data
// (GET /instruments): the check-in form is built from the instrument's items and scales.

import { button, dayAndTime, el, field, heading, problemBox } from "./dom.js";
import { childName } from "./screens.js";
import {
  MAX_ACTIVE_GOALS,
  MEAN_OF_GOALS,
  METRIC,
  PER_GOAL,
  classifyChange,
  goalRatings,
  itemLabel,
  number,
} from "./wellbeing.js";

/** @typedef {import("./types.js").Child} Child */
/** @typedef {import("./types.js").Goal} Goal */
/** @typedef {import("./types.js").CheckIn} CheckIn */
/** @typedef {import("./types.js").Instrument} Instrument */
/** @typedef {import("./types.js").QueuedWrite} QueuedWrite */
/** @typedef {import("./wellbeing.js").InstrumentSummary} InstrumentSummary */
/** @typedef {import("./wellbeing.js").MeasureChange} MeasureChange */

/** @param {string} iso */
function day(iso) {
  return new Date(iso).toLocaleDateString([], { day: "numeric", month: "short" });
}

/**
 * The path a goal's end or rewording is sent to (a write waiting in the outbox names its goal by it).
 * @param {string} goalId
 */
function goalPath(goalId) {
  return `/goals/${encodeURIComponent(goalId)}/`;
}

/**
 * The child's active goals as the phone holds them, leaving out those the mentor has ended or reworded on this
 * phone (their write is waiting): a goal being ended cannot be rated, nor counted among the three.
 * @param {string} childId
 * @param {Goal[]} goals
 * @param {QueuedWrite[]} writes
 */
export function activeGoals(childId, goals, writes) {
  const ending = writes.filter((write) => write.kind === "request" && write.path.startsWith("/goals/"));
  return goals
    .filter((goal) => goal.child_id === childId && goal.status === "active" && goal.item_key !== null)
    .filter((goal) => !ending.some((write) => write.kind === "request" && write.path.startsWith(goalPath(goal.id))))
    .sort((a, b) => a.slot - b.slot);
}

/**
 * New goals waiting to be sent from this phone (not refused): they will take places among the three.
 * @param {string} childId
 * @param {QueuedWrite[]} writes
 */
export function goalsWaiting(childId, writes) {
  return writes.filter(
    (write) =>
      write.kind === "request" &&
      write.refusal === null &&
      write.method === "POST" &&
      write.path === `/children/${encodeURIComponent(childId)}/goals`,
  );
}

/**
 * A goal's latest rating, against its first: "7 of 10, up from 3: a meaningful improvement".
 * @param {Goal} goal
 * @param {CheckIn[]} checkIns
 * @param {Instrument | undefined} gbo
 */
export function ratingWords(goal, checkIns, gbo) {
  const ratings = goalRatings(goal, checkIns);
  const first = ratings[0];
  const latest = ratings[ratings.length - 1];
  if (first === undefined || latest === undefined) {
    return "Not rated yet";
  }
  const scale = gbo?.items[0]?.max_response ?? 10;
  const now = `${latest.rating} of ${scale}`;
  if (ratings.length === 1) {
    return `${now} (its first rating)`;
  }
  const direction =
    latest.rating > first.rating
      ? `up from ${first.rating}`
      : latest.rating < first.rating
        ? `down from ${first.rating}`
        : "the same as its first rating";
  if (gbo === undefined) {
    return `${now}, ${direction}`;
  }
  // As the server reads a goal's change (goal_rules.goal_change): its latest rating against its first.
  const verdict = classifyChange(latest.rating - first.rating, {
    threshold: gbo.meaningful_change_threshold,
    lowerIsBetter: false,
  });
  return `${now}, ${direction}${verdict === "no_meaningful_change" ? "" : `: ${VERDICT_WORDS[verdict]}`}`;
}

/** @type {Record<MeasureChange["verdict"], string>} */
const VERDICT_WORDS = {
  meaningful_improvement: "a meaningful improvement",
  meaningful_deterioration: "a meaningful fall",
  no_meaningful_change: "not a meaningful change",
};

/**
 * @param {Instrument} instrument
 * @param {string} measure
 */
function measureLabel(instrument, measure) {
  if (measure === METRIC) {
    return "Score";
  }
  if (measure === MEAN_OF_GOALS) {
    return "Mean rating of the goals";
  }
  const item = instrument.items.find((candidate) => candidate.key === measure);
  return `${itemLabel(measure)}${item?.lower_is_better ? " (lower is better)" : ""}`;
}

/**
 * One score's change in words: "Life satisfaction: 7, up from 3: a meaningful improvement".
 * @param {Instrument} instrument
 * @param {MeasureChange} change
 */
export function changeWords(instrument, change) {
  const direction =
    change.change > 0
      ? `up from ${number(change.baseline)}`
      : change.change < 0
        ? `down from ${number(change.baseline)}`
        : "the same as at first";
  const verdict = change.is_meaningful
    ? VERDICT_WORDS[change.verdict]
    : `not a meaningful change (${number(instrument.meaningful_change_threshold)} needed)`;
  return `${measureLabel(instrument, change.measure)}: ${number(change.latest)}, ${direction}: ${verdict}`;
}

/**
 * An instrument's line: how many check-ins, since when, and whether the latest differs meaningfully from the first.
 * @param {InstrumentSummary} summary
 */
export function summaryWords(summary) {
  if (summary.check_ins === 1) {
    return `${summary.name}: one check-in, on ${day(summary.latest.completed_at)}. It is the baseline: change shows from the next one.`;
  }
  const verdict = summary.meaningful_change ? "a meaningful change" : "no meaningful change";
  return `${summary.name}: ${summary.check_ins} check-ins, the first on ${day(summary.baseline.completed_at)}, the latest on ${day(summary.latest.completed_at)}: ${verdict} since the first.`;
}

/**
 * The child's page's goals and wellbeing, as of the last sync, and the buttons to record a check-in or set a goal.
 * @param {{ child: Child, goals: Goal[], checkIns: CheckIn[], instruments: Instrument[], summaries: InstrumentSummary[],
 *   writes: QueuedWrite[] }} data
 * @param {{ checkIn: () => void, newGoal: () => void, goal: (goalId: string) => void }} actions
 * @returns {HTMLElement[]}
 */
export function childWellbeing({ child, goals, checkIns, instruments, summaries, writes }, actions) {
  const gbo = instruments.find((instrument) => instrument.scoring === PER_GOAL);
  const active = activeGoals(child.id, goals, writes);
  const record = button("Record a check-in", { class: "secondary" });
  record.addEventListener("click", actions.checkIn);
  const add = button("Add a goal", { class: "secondary" });
  add.addEventListener("click", actions.newGoal);
  const goalItems = active.map((goal) => {
    const update = button("Update", { class: "secondary", "aria-label": `Update the goal: ${goal.description}` });
    update.addEventListener("click", () => actions.goal(goal.id));
    return el("li", { class: "goal" }, [
      el("span", {}, [el("q", {}, [goal.description]), ` · ${ratingWords(goal, checkIns, gbo)}`]),
      update,
    ]);
  });
  const known = new Map(instruments.map((instrument) => [instrument.key, instrument]));
  const lines = summaries.map((summary) => {
    const instrument = known.get(summary.instrument);
    const changes = instrument === undefined ? [] : summary.changes.map((change) => changeWords(instrument, change));
    return el("li", {}, [
      el("p", {}, [summaryWords(summary)]),
      changes.length === 0 ? null : el("ul", {}, changes.map((words) => el("li", {}, [words]))),
    ]);
  });
  return [
    el("section", { "aria-labelledby": "goals-heading" }, [
      el("h2", { id: "goals-heading" }, [`Goals (${active.length} of ${MAX_ACTIVE_GOALS})`]),
      el("p", { class: "hint" }, ["In their own words, with the latest rating, as of your last sync."]),
      active.length === 0 ? el("p", {}, ["No active goals."]) : el("ul", { class: "plain goals" }, goalItems),
    ]),
    el("section", { "aria-labelledby": "wellbeing-heading" }, [
      el("h2", { id: "wellbeing-heading" }, ["Wellbeing"]),
      el("p", { class: "hint" }, ["The latest check-in against the first, as of your last sync."]),
      lines.length === 0 ? el("p", {}, ["No check-ins yet."]) : el("ul", { class: "plain wellbeing" }, lines),
    ]),
    el("div", { class: "actions" }, [record, add]),
  ];
}

/**
 * @typedef {{ instrument: string, answers: Record<string, number>, session_id: string | null }} CheckInAnswers
 * @typedef {{ id: string, words: string }} SessionChoice
 */

/**
 * Record a check-in done together: the questionnaire (those fitting the child), then one labelled group of choices
 * per item, on the item's own scale; a Goal Based Outcomes item shows the goal in the child's words.
 * @param {{ child: Child, instruments: Instrument[], goals: Goal[], sessions: SessionChoice[] }} data
 * @param {{ onSave: (checkIn: CheckInAnswers, instrument: Instrument) => void, onCancel: () => void }} actions
 */
export function checkInForm({ child, instruments, goals, sessions }, { onSave, onCancel }) {
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  const title = heading(`Record a check-in: ${childName(child)}`);
  if (instruments.length === 0) {
    return el("section", {}, [
      title,
      el("p", {}, ["No questionnaire suits them here yet (their age, or no goal to rate). Sync when you are online."]),
      cancel,
    ]);
  }
  const choose = el("select", {});
  for (const instrument of instruments) {
    choose.append(el("option", { value: instrument.key }, [instrument.name]));
  }
  const session = el("select", {});
  session.append(el("option", { value: "" }, ["Not in a session"]));
  for (const [index, choice] of sessions.entries()) {
    session.append(el("option", { value: choice.id, selected: index === 0 }, [choice.words]));
  }
  const items = el("div", { class: "items" });
  const problem = problemBox(null);
  /** @type {() => { answers: Record<string, number>, missing: string[] }} */
  let read = () => ({ answers: {}, missing: [] });
  const show = () => {
    const instrument = instruments.find((candidate) => candidate.key === choose.value);
    if (instrument !== undefined) {
      const drawn = itemFields(instrument, goals);
      items.replaceChildren(...drawn.nodes.flatMap((node) => (node === null ? [] : [node])));
      read = drawn.read;
    }
    problem.hidden = true;
  };
  choose.addEventListener("change", show);
  show();
  const form = el("form", { novalidate: true }, [
    field("instrument", "Questionnaire", choose),
    sessions.length === 0 ? null : field("session", "Done in", session, "The session of today you did it in, if any."),
    items,
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save the check-in"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const instrument = instruments.find((candidate) => candidate.key === choose.value);
    if (instrument === undefined) {
      return;
    }
    const { answers, missing } = read();
    const perGoal = instrument.scoring === PER_GOAL;
    const refusal =
      perGoal && Object.keys(answers).length === 0
        ? "Rate at least one goal."
        : !perGoal && missing.length > 0
          ? `Answer every question: ${missing.join(", ")} ${missing.length === 1 ? "has" : "have"} no answer.`
          : null;
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      problem.focus();
      return;
    }
    onSave({ instrument: instrument.key, answers, session_id: session.value === "" ? null : session.value }, instrument);
  });
  return el("section", {}, [
    title,
    el("p", {}, [`Do it together with ${child.first_name}: they choose, you tick.`]),
    form,
    cancel,
  ]);
}

/**
 * The instrument's items as groups of choices, and how to read the answers back.
 * @param {Instrument} instrument
 * @param {Goal[]} goals the child's active goals (rated by a per-goal instrument, each under its item_key)
 */
function itemFields(instrument, goals) {
  const perGoal = instrument.scoring === PER_GOAL;
  const byItem = new Map(goals.map((goal) => [goal.item_key, goal]));
  const asked = perGoal ? instrument.items.filter((item) => byItem.has(item.key)) : instrument.items;
  /** @type {(HTMLElement | null)[]} */
  const nodes = [
    instrument.instructions === null ? null : el("p", { class: "hint" }, [instrument.instructions]),
    instrument.has_wording
      ? null
      : el("p", { class: "hint" }, [
          "This questionnaire's wording is licensed and is not held on this phone: read each question from your " +
            "licensed form, in its order, and tick their answer under its number here.",
        ]),
  ];
  const groups = asked.map((item, index) => {
    const goal = byItem.get(item.key);
    const legend = perGoal
      ? `Goal: ${goal?.description ?? itemLabel(item.key)}`
      : (item.prompt ?? `${itemLabel(item.key)} (question ${index + 1} on the form)`);
    const hint = perGoal
      ? `${item.prompt ?? ""} ${perGoal ? "Leave it if you are not rating this goal today." : ""}`.trim()
      : `From ${item.min_response} to ${item.max_response}${item.lower_is_better ? ": here lower is better" : ""}.`;
    const hintId = `hint-${item.key}`;
    const choices = [];
    for (let value = item.min_response; value <= item.max_response; value += 1) {
      const id = `answer-${item.key}-${value}`;
      const radio = el("input", { type: "radio", name: `answer-${item.key}`, id, value: String(value) });
      choices.push(el("div", { class: "choice" }, [radio, el("label", { for: id }, [String(value)])]));
    }
    return el("fieldset", { class: "item", "aria-describedby": hintId }, [
      el("legend", {}, [legend]),
      el("p", { class: "hint", id: hintId }, [hint]),
      el("div", { class: "scale" }, choices),
    ]);
  });
  nodes.push(...groups, el("p", { class: "hint credit" }, [instrument.credit]));
  const read = () => {
    /** @type {Record<string, number>} */
    const answers = {};
    /** @type {string[]} */
    const missing = [];
    for (const [index, item] of asked.entries()) {
      const picked = groups[index]?.querySelector("input:checked");
      if (picked instanceof HTMLInputElement) {
        answers[item.key] = Number(picked.value);
      } else {
        missing.push(instrument.has_wording ? `question ${index + 1}` : itemLabel(item.key));
      }
    }
    return { answers, missing };
  };
  return { nodes, read };
}

/**
 * Set a goal in the child's own words; refused on the phone when three are active already (or waiting to be sent).
 * @param {{ child: Child, active: number }} data
 * @param {{ onSave: (description: string) => void, onCancel: () => void }} actions
 */
export function newGoalForm({ child, active }, { onSave, onCancel }) {
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  const title = heading(`Add a goal: ${childName(child)}`);
  if (active >= MAX_ACTIVE_GOALS) {
    return el("section", {}, [
      title,
      el("p", { class: "problem" }, [
        `${child.first_name} already has ${MAX_ACTIVE_GOALS} active goals (counting any waiting to send): mark one ` +
          "achieved or dropped first.",
      ]),
      cancel,
    ]);
  }
  const words = el("textarea", { rows: "3", maxlength: "200", required: true });
  const problem = problemBox(null);
  const form = el("form", { novalidate: true }, [
    field("goal-words", "The goal, in their own words", words, "Write it as they say it. Up to 200 characters."),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Save the goal"])]),
  ]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (words.value.trim() === "") {
      problem.textContent = "Write the goal in their words.";
      problem.hidden = false;
      problem.focus();
      return;
    }
    onSave(words.value.trim());
  });
  return el("section", {}, [title, form, cancel]);
}

/**
 * One goal: mark it achieved or dropped (with a note if wanted), or reword it.
 * @param {{ child: Child, goal: Goal, rating: string }} data
 * @param {{ onEnd: (status: "achieved" | "dropped", note: string | null) => void,
 *   onReword: (description: string, note: string | null) => void, onCancel: () => void }} actions
 */
export function goalScreen({ child, goal, rating }, { onEnd, onReword, onCancel }) {
  const note = el("textarea", { rows: "3", maxlength: "2000" });
  const noteValue = () => (note.value.trim() === "" ? null : note.value.trim());
  const achieved = button("Mark it achieved", { class: "primary" });
  achieved.addEventListener("click", () => onEnd("achieved", noteValue()));
  const dropped = button("Mark it dropped", { class: "secondary" });
  dropped.addEventListener("click", () => onEnd("dropped", noteValue()));
  const words = el("textarea", { rows: "3", maxlength: "200" });
  words.value = goal.description;
  const problem = problemBox(null);
  const reword = el("form", { novalidate: true }, [
    field("goal-new-words", "New words, in their own words", words),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "secondary" }, ["Save the new words"])]),
  ]);
  reword.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = words.value.trim();
    if (wanted === "" || wanted === goal.description) {
      problem.textContent = "Write the goal's new words.";
      problem.hidden = false;
      problem.focus();
      return;
    }
    onReword(wanted, noteValue());
  });
  const cancel = button("Cancel", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [
    heading(`A goal of ${childName(child)}`),
    el("p", {}, [el("q", {}, [goal.description])]),
    el("p", {}, [`Latest rating: ${rating}. Set ${dayAndTime(new Date(goal.created_at))}.`]),
    field("goal-note", "A note (if you want)", note),
    el("div", { class: "actions" }, [achieved, dropped]),
    el("h2", {}, ["Change the words"]),
    el("p", { class: "hint" }, ["The goal keeps its place and its ratings carry on under the new words."]),
    reword,
    cancel,
  ]);
}
