// A child's wellbeing as the phone can read it from what the sync feed keeps: per instrument, the first check-in
// (the baseline) against the latest and whether the change is meaningful; each goal's ratings. No DOM here.
//
// It mirrors the server's reading (api/wellbeing/picture.py, scoring.change_from_baseline, goal_rules.goal_change)
// exactly, so the phone never says something GET /children/{id}/wellbeing would not:
// - a child's check-ins with an instrument, oldest first (completed_at, then id): the first is the baseline;
// - change is latest minus baseline, per derived score present in both, in the instrument's order (items, then
//   "metric", then "mean"); for per_goal scoring only the mean is compared (goals come and go), each goal being
//   compared with its own first rating instead;
// - it is meaningful when it moves the better way (lower for an item marked lower_is_better, higher otherwise) or
//   the worse way by at least the instrument's threshold, a change exactly at the threshold counting.
// Scores are whole numbers or have two decimal places (a SWEMWBS metric, a mean of goals), so they are compared in
// hundredths, as whole numbers: 20.73 - 17.43 is exactly 3.30, never 3.2999999.

/** @typedef {import("./types.js").CheckIn} CheckIn */
/** @typedef {import("./types.js").Goal} Goal */
/** @typedef {import("./types.js").Instrument} Instrument */
/** @typedef {import("./types.js").Child} Child */
/** @typedef {"meaningful_improvement" | "meaningful_deterioration" | "no_meaningful_change"} Verdict */

export const METRIC = "metric";
export const MEAN_OF_GOALS = "mean";
export const PER_GOAL = "per_goal";
export const MAX_ACTIVE_GOALS = 3;

/**
 * @typedef {{ measure: string, baseline: number, latest: number, change: number, lower_is_better: boolean,
 *   verdict: Verdict, is_meaningful: boolean }} MeasureChange
 * @typedef {{ instrument: string, name: string, check_ins: number, baseline: CheckIn, latest: CheckIn,
 *   changes: MeasureChange[], meaningful_change: boolean }} InstrumentSummary
 */

/** @param {number} value */
function hundredths(value) {
  return Math.round(value * 100);
}

/**
 * @param {number} change latest minus baseline
 * @param {{ threshold: number, lowerIsBetter: boolean }} options
 * @returns {Verdict}
 */
export function classifyChange(change, { threshold, lowerIsBetter }) {
  const improvement = lowerIsBetter ? -hundredths(change) : hundredths(change);
  const needed = hundredths(threshold);
  if (improvement >= needed) {
    return "meaningful_improvement";
  }
  if (improvement <= -needed) {
    return "meaningful_deterioration";
  }
  return "no_meaningful_change";
}

/**
 * Oldest first, as the server orders them (completed_at to the microsecond, then id).
 * @param {{ completed_at: string, id?: string, check_in_id?: string }} a
 * @param {{ completed_at: string, id?: string, check_in_id?: string }} b
 */
function oldestFirst(a, b) {
  const byTime = Date.parse(a.completed_at) - Date.parse(b.completed_at);
  if (byTime !== 0) {
    return byTime;
  }
  // Within one millisecond the ISO strings (one offset, microseconds) still order the times.
  const byText = a.completed_at.localeCompare(b.completed_at);
  return byText !== 0 ? byText : (a.id ?? a.check_in_id ?? "").localeCompare(b.id ?? b.check_in_id ?? "");
}

/**
 * The change in every derived score present in both, from baseline to latest.
 * @param {Instrument} instrument
 * @param {Record<string, number>} baseline
 * @param {Record<string, number>} latest
 * @returns {MeasureChange[]}
 */
export function changeFromBaseline(instrument, baseline, latest) {
  const perGoal = instrument.scoring === PER_GOAL;
  const measures = perGoal ? [MEAN_OF_GOALS] : [...instrument.items.map((item) => item.key), METRIC, MEAN_OF_GOALS];
  /** @type {MeasureChange[]} */
  const changes = [];
  for (const measure of measures) {
    const before = baseline[measure];
    const after = latest[measure];
    if (before === undefined || after === undefined) {
      continue;
    }
    const lowerIsBetter = instrument.items.some((item) => item.key === measure && item.lower_is_better);
    const change = (hundredths(after) - hundredths(before)) / 100;
    const verdict = classifyChange(change, { threshold: instrument.meaningful_change_threshold, lowerIsBetter });
    changes.push({
      measure,
      baseline: before,
      latest: after,
      change,
      lower_is_better: lowerIsBetter,
      verdict,
      is_meaningful: verdict !== "no_meaningful_change",
    });
  }
  return changes;
}

/**
 * Per instrument the child has done (and the deployment still offers), in the order first done: the baseline, the
 * latest and the change between them (none with a single check-in).
 * @param {string} childId
 * @param {CheckIn[]} checkIns
 * @param {Instrument[]} instruments
 * @returns {InstrumentSummary[]}
 */
export function summaries(childId, checkIns, instruments) {
  const known = new Map(instruments.map((instrument) => [instrument.key, instrument]));
  /** @type {Map<string, CheckIn[]>} */
  const byInstrument = new Map();
  for (const checkIn of [...checkIns].filter((c) => c.child_id === childId).sort(oldestFirst)) {
    const rows = byInstrument.get(checkIn.instrument) ?? [];
    rows.push(checkIn);
    byInstrument.set(checkIn.instrument, rows);
  }
  /** @type {InstrumentSummary[]} */
  const found = [];
  for (const [key, rows] of byInstrument) {
    const instrument = known.get(key);
    const baseline = rows[0];
    const latest = rows[rows.length - 1];
    if (instrument === undefined || baseline === undefined || latest === undefined) {
      continue; // an instrument since withdrawn: its history stays, unsummarised
    }
    const changes =
      rows.length > 1 ? changeFromBaseline(instrument, baseline.derived_scores, latest.derived_scores) : [];
    found.push({
      instrument: key,
      name: instrument.name,
      check_ins: rows.length,
      baseline,
      latest,
      changes,
      meaningful_change: changes.some((change) => change.is_meaningful),
    });
  }
  return found;
}

/**
 * A goal's ratings, oldest first: those the feed gave with the goal and those in the check-ins held (a check-in
 * rates a goal without changing the goal itself, so the goal's own list may be behind).
 * @param {Goal} goal
 * @param {CheckIn[]} checkIns
 * @returns {{ check_in_id: string, completed_at: string, rating: number }[]}
 */
export function goalRatings(goal, checkIns) {
  const ratings = new Map(goal.ratings.map((rating) => [rating.check_in_id, rating]));
  for (const checkIn of checkIns) {
    for (const response of checkIn.responses) {
      if (response.goal_id === goal.id && !ratings.has(checkIn.id)) {
        ratings.set(checkIn.id, { check_in_id: checkIn.id, completed_at: checkIn.completed_at, rating: response.response });
      }
    }
  }
  return [...ratings.values()].sort(oldestFirst);
}

/**
 * The child's age on the phone's today, from their date of birth (yyyy-mm-dd), or null without one.
 * @param {string | null | undefined} dateOfBirth
 * @param {Date} now
 */
export function ageOn(dateOfBirth, now) {
  const parts = /^(\d{4})-(\d{2})-(\d{2})$/.exec(dateOfBirth ?? "");
  if (parts === null) {
    return null;
  }
  const [year, month, day] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  const birthdayPassed = now.getMonth() + 1 > month || (now.getMonth() + 1 === month && now.getDate() >= day);
  return now.getFullYear() - year - (birthdayPassed ? 0 : 1);
}

/**
 * The instruments a check-in may use with this child: of their age (when the phone knows it), and Goal Based
 * Outcomes only while they have an active goal to rate.
 * @param {Instrument[]} instruments
 * @param {{ age: number | null, activeGoals: number }} child
 */
export function suitableInstruments(instruments, { age, activeGoals }) {
  return instruments.filter(
    (instrument) =>
      (age === null || ((instrument.min_age ?? age) <= age && age <= (instrument.max_age ?? age))) &&
      (instrument.scoring !== PER_GOAL || activeGoals > 0),
  );
}

/**
 * A number as the mentor reads it: whole numbers bare, others to two places at most.
 * @param {number} value
 */
export function number(value) {
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 100) / 100);
}

/**
 * An item's name when it has no wording here (licensed wording not shipped), from its key: "item_3" → "Item 3".
 * @param {string} key
 */
export function itemLabel(key) {
  const words = key.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
