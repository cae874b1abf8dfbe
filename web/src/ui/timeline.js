// timeline.js - the chart of incidents and retries over simulated time, as
// plain SVG: open incidents, tasks and jobs retrying, failures per tick.

import { clockTime } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const HEIGHT = 160;
/** Width used before the chart is laid out. */
const DEFAULT_WIDTH = 600;
const PAD = { left: 34, right: 8, top: 8, bottom: 18 };

/** The series drawn, with their CSS class (colours live in the stylesheet). */
export const SERIES = [
  { key: 'incidents', label: 'open incidents', cls: 'incidents' },
  { key: 'retrying', label: 'retrying', cls: 'retrying' },
  { key: 'failures', label: 'failures per tick', cls: 'failures' },
];

/** @param {string} tag @param {Record<string, string | number>} attrs */
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Polyline points of one series scaled into the plot area.
 * @param {import('../sim.js').Sample[]} samples @param {string} key @param {number} max
 * @param {number} width of the chart
 */
export function points(samples, key, max, width) {
  const n = samples.length;
  const w = width - PAD.left - PAD.right;
  const hgt = HEIGHT - PAD.top - PAD.bottom;
  return samples
    .map((s, i) => {
      const x = PAD.left + (n <= 1 ? 0 : (i / (n - 1)) * w);
      const y = PAD.top + hgt - (max === 0 ? 0 : (s[key] / max) * hgt);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/**
 * Draws the chart into an <svg> element.
 * @param {SVGSVGElement} root @param {import('../sim.js').Sample[]} samples
 */
export function renderTimeline(root, samples) {
  // Drawn in CSS pixels, so text keeps its size whatever the panel's width.
  const width = Math.max(200, Math.round(root.clientWidth || DEFAULT_WIDTH));
  root.setAttribute('viewBox', `0 0 ${width} ${HEIGHT}`);
  const max = Math.max(1, ...samples.flatMap((s) => SERIES.map((x) => s[x.key])));
  const nodes = [
    svg('line', { x1: PAD.left, y1: HEIGHT - PAD.bottom, x2: width - PAD.right, y2: HEIGHT - PAD.bottom, class: 'axis' }),
    svg('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: HEIGHT - PAD.bottom, class: 'axis' }),
  ];
  const label = (x, y, text, anchor = 'end') => {
    const t = svg('text', { x, y, 'text-anchor': anchor, class: 'tick-label' });
    t.textContent = text;
    return t;
  };
  nodes.push(label(PAD.left - 4, PAD.top + 8, String(max)), label(PAD.left - 4, HEIGHT - PAD.bottom, '0'));
  if (samples.length > 0) {
    nodes.push(label(PAD.left, HEIGHT - 4, clockTime(samples[0].time), 'start'));
    nodes.push(label(width - PAD.right, HEIGHT - 4, clockTime(samples[samples.length - 1].time)));
    for (const s of SERIES) nodes.push(svg('polyline', { points: points(samples, s.key, max, width), class: `series ${s.cls}` }));
  }
  root.replaceChildren(...nodes);
}
