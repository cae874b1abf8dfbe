// dom.js - the few DOM helpers the page's renderers share.

/**
 * Creates an element: h('button', {class: 'x', onclick}, 'text', child).
 * Attributes starting with "on" become listeners; null/false ones are skipped.
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** @param {string} id */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from the page`);
  return el;
}

/** Replaces the element's children. @param {Element} el @param {...(Node | string)} children */
export function fill(el, ...children) {
  el.replaceChildren(...children);
}

/** Pretty JSON for display. @param {unknown} value */
export const pretty = (value) => JSON.stringify(value, null, 2);

/** "2024-01-01T08:00:05.000+0000" -> "08:00:05" (simulated times are UTC). */
export function clockTime(value) {
  if (!value) return '';
  const ms = typeof value === 'number' ? value : Date.parse(String(value).replace(/([+-]\d\d)(\d\d)$/, '$1:$2'));
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 19) : String(value);
}
