// prng.js - a small seeded pseudo-random generator, so that a simulation run
// is a function of its seed and its actions (Math.random is not seedable).

/**
 * FNV-1a hash of a string to an unsigned 32-bit integer: turns any seed text
 * ("42", "rehearsal-1") into generator state.
 * @param {string} text
 * @returns {number}
 */
export function hashSeed(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * mulberry32: a 32-bit state generator, good enough for failure dice and
 * fast. Returns a function giving floats in [0, 1).
 * @param {string} seed
 * @returns {() => number}
 */
export function seededRandom(seed) {
  let state = hashSeed(String(seed));
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
