// Building the screens with the DOM itself: text is always set as text (never parsed as HTML), so nothing a
// record holds can become markup or script.

/**
 * @typedef {Node | string | null | undefined | false} Child
 */

/**
 * An element with attributes and children; `false`, null and undefined children are left out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean>} [attributes]
 * @param {Child[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) {
      element.setAttribute(name, "");
    } else if (value !== false) {
      element.setAttribute(name, value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      element.append(child);
    }
  }
  return element;
}

/**
 * A labelled field: every input has its label, and its hint is read with it.
 * @param {string} id
 * @param {string} label
 * @param {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} control
 * @param {string} [hint]
 */
export function field(id, label, control, hint) {
  control.id = id;
  control.name = id;
  /** @type {HTMLElement[]} */
  const children = [el("label", { for: id }, [label])];
  if (hint !== undefined) {
    control.setAttribute("aria-describedby", `${id}-hint`);
    children.push(el("p", { class: "hint", id: `${id}-hint` }, [hint]));
  }
  children.push(control);
  return el("div", { class: "field" }, children);
}

/**
 * @param {string} label
 * @param {Record<string, string | boolean>} [attributes]
 */
export function button(label, attributes = {}) {
  return el("button", { type: "button", ...attributes }, [label]);
}

/** @param {Date} date */
export function dayAndTime(date) {
  return date.toLocaleString([], { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

/** @param {Date} date yyyy-mm-dd in the phone's time */
export function dateValue(date) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** @param {Date} date hh:mm in the phone's time */
export function timeValue(date) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * @param {string} text
 * @returns {HTMLHeadingElement} the screen's heading, which takes the focus when the screen opens
 */
export function heading(text) {
  return el("h1", { tabindex: "-1" }, [text]);
}

/**
 * Where a form says what is wrong: read out at once (an alert), and focusable so the focus can be moved to it.
 * @param {string | null} [problem]
 */
export function problemBox(problem = null) {
  return el("div", { class: "problem", role: "alert", tabindex: "-1", hidden: problem === null }, [problem ?? ""]);
}
