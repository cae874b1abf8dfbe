// diagram.js - the deployed process drawn by bpmn-js (the navigated viewer:
// the viewer plus scroll and zoom), with a badge overlay per activity:
// active tokens, open jobs, open external tasks, incidents.

import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

const OVERLAY_TYPE = 'rebatch-counts';

/** Badge kinds in display order: [field, css class, title]. */
const BADGES = [
  ['tokens', 'tokens', 'active tokens'],
  ['jobs', 'jobs', 'open jobs'],
  ['tasks', 'tasks', 'open external tasks'],
  ['incidents', 'incidents', 'open incidents'],
];

export class DiagramView {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    this.viewer = new NavigatedViewer({ container });
    /** @type {string | null} the document shown or being imported */
    this.xml = null;
    /** Whether an import has completed (zooming before one divides 0 by 0). */
    this.imported = false;
    // The canvas changes size with the layout (one column on a narrow window),
    // not only with the window: refit whenever it does.
    if (typeof ResizeObserver === 'function') new ResizeObserver(() => this.fit()).observe(container);
  }

  /**
   * Shows a BPMN document (re-imports only when it changed).
   * @param {string} xml
   */
  async show(xml) {
    if (xml === this.xml) return;
    this.xml = xml;
    this.imported = false;
    await this.viewer.importXML(xml);
    this.imported = true;
    this.fit();
  }

  /** Zooms the diagram to the canvas, when there is one of both to measure. */
  fit() {
    if (!this.imported || this.container.clientWidth === 0 || this.container.clientHeight === 0) return;
    /** @type {any} */ (this.viewer.get('canvas')).zoom('fit-viewport', 'auto');
  }

  /**
   * Replaces the count badges.
   * @param {Map<string, {tokens: number, jobs: number, tasks: number, incidents: number}>} counts
   */
  setCounts(counts) {
    if (!this.imported) return;
    const overlays = /** @type {any} */ (this.viewer.get('overlays'));
    const registry = /** @type {any} */ (this.viewer.get('elementRegistry'));
    overlays.remove({ type: OVERLAY_TYPE });
    for (const [activityId, c] of counts) {
      if (!registry.get(activityId)) continue;
      overlays.add(activityId, OVERLAY_TYPE, { position: { top: -12, left: -6 }, html: badges(activityId, c) });
    }
  }
}

/** @param {string} activityId @param {Record<string, number>} c */
function badges(activityId, c) {
  const box = document.createElement('div');
  box.className = 'overlay-badges';
  box.dataset.activityId = activityId;
  for (const [field, cls, title] of BADGES) {
    if (!c[field]) continue;
    const b = document.createElement('span');
    b.className = `badge-count ${cls}`;
    b.title = `${c[field]} ${title}`;
    b.textContent = String(c[field]);
    box.append(b);
  }
  return box;
}
