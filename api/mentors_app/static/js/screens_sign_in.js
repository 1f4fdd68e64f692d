// The second step of signing in, for a mentor whose account asks for one (they set up an authenticator app, or
// their programme requires it of mentors): a code from the authenticator app or a recovery code; setting the
// authenticator up when the account has none yet; and the recovery codes, shown once.

import { button, el, field, heading, problemBox } from "./dom.js";

/** @typedef {import("./types.js").MfaEnrolment} MfaEnrolment */

/**
 * @param {string} id
 * @param {string} autocomplete
 */
function codeInput(id, autocomplete) {
  return el("input", {
    id,
    type: "text",
    inputmode: id === "code" ? "numeric" : "text",
    autocomplete,
    spellcheck: "false",
    required: true,
  });
}

/**
 * @param {HTMLFormElement} form
 * @param {HTMLElement} problem
 * @param {HTMLInputElement} input
 * @param {(value: string) => Promise<string | null>} onSubmit the problem, or null once signed in
 */
function submitting(form, problem, input, onSubmit) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const submit = form.querySelector("button[type=submit]");
    if (submit instanceof HTMLButtonElement) {
      submit.disabled = true;
    }
    const refusal = await onSubmit(input.value.replace(/\s+/g, ""));
    if (submit instanceof HTMLButtonElement) {
      submit.disabled = false;
    }
    if (refusal !== null) {
      problem.textContent = refusal;
      problem.hidden = false;
      input.value = "";
      input.focus();
    }
  });
}

/**
 * The code from the authenticator app, or (the phone with the app is lost) a recovery code instead.
 * @param {{ onCode: (code: string) => Promise<string | null>, onRecoveryCode: (code: string) => Promise<string | null>,
 *   onCancel: () => void }} actions
 */
export function secondFactor({ onCode, onRecoveryCode, onCancel }) {
  const code = codeInput("code", "one-time-code");
  const problem = problemBox();
  const form = el("form", { novalidate: true }, [
    field("code", "Code from your authenticator app", code, "The 6 digits it shows for Reachable now."),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Sign in"])]),
  ]);
  submitting(form, problem, code, onCode);

  const useRecovery = button("I do not have my authenticator: use a recovery code", { class: "link" });
  useRecovery.addEventListener("click", () => {
    // Made when asked for, not hidden beforehand: a hidden field is still a field to a screen reader's forms list.
    const recovery = codeInput("recovery-code", "off");
    const recoveryProblem = problemBox();
    const recoveryForm = el("form", { novalidate: true }, [
      field("recovery-code", "Recovery code", recovery, "One of the codes you kept when you set up the app. Each works once."),
      recoveryProblem,
      el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Sign in with it"])]),
    ]);
    submitting(recoveryForm, recoveryProblem, recovery, onRecoveryCode);
    useRecovery.replaceWith(recoveryForm);
    recovery.focus();
  });
  const cancel = button("Start again", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [
    heading("Sign in: the second step"),
    el("p", {}, ["Your account asks for a code from your authenticator app as well as your password."]),
    form,
    useRecovery,
    cancel,
  ]);
}

/**
 * Setting up the authenticator app: open the key in it (a link an authenticator app takes on a phone) or type the
 * key in, then give the first code it shows.
 * @param {MfaEnrolment} enrolment
 * @param {{ onCode: (code: string) => Promise<string | null>, onCancel: () => void }} actions
 */
export function setUpAuthenticator(enrolment, { onCode, onCancel }) {
  const code = codeInput("code", "one-time-code");
  const problem = problemBox();
  const form = el("form", { novalidate: true }, [
    field("code", "The code it shows now", code, "6 digits."),
    problem,
    el("div", { class: "actions" }, [el("button", { type: "submit", class: "primary" }, ["Check the code and sign in"])]),
  ]);
  submitting(form, problem, code, onCode);
  const grouped = enrolment.secret.replace(/(.{4})/g, "$1 ").trim();
  const cancel = button("Start again", { class: "link" });
  cancel.addEventListener("click", onCancel);
  return el("section", {}, [
    heading("Set up your authenticator app"),
    el("p", {}, [
      "Your account signs in with a code from an authenticator app as well as your password. Install one if you " +
        "have none (your organisation will say which), then add Reachable to it:",
    ]),
    el("p", {}, [el("a", { href: enrolment.provisioning_uri, class: "call" }, ["Add Reachable to my authenticator app"])]),
    el("p", {}, ["Or type this key into it:"]),
    el("p", { class: "secret" }, [grouped]),
    form,
    cancel,
  ]);
}

/**
 * The recovery codes, shown this once: each signs in once without the authenticator.
 * @param {string[]} codes
 * @param {{ onKept: () => void }} actions
 */
export function recoveryCodes(codes, { onKept }) {
  const kept = button("I have kept them somewhere safe", { class: "primary" });
  kept.addEventListener("click", onKept);
  return el("section", {}, [
    heading("Keep your recovery codes"),
    el("p", {}, [
      "If you lose the phone with your authenticator app, each of these codes signs you in once instead. Write them " +
        "down or keep them in your password manager, not on this phone. They are shown only now.",
    ]),
    el("ul", { class: "codes" }, codes.map((code) => el("li", {}, [code]))),
    kept,
  ]);
}
