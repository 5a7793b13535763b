// Placeholders: an image's ThumbHash (the list rows' `placeholder`, base64, about 25
// bytes) drawn as a small blurred picture while the thumbnail loads. The decoder follows
// the published ThumbHash algorithm (https://evanw.github.io/thumbhash/): a header with
// the average colour and the scales, then 4-bit DCT factors for the L, P, Q (and A)
// channels, turned back into pixels. The encoder is rankion_procedural/thumbhash.py.

// [width, height, RGBA bytes] of the picture `hash` (a Uint8Array) describes, at most 32 px.
export function thumbHashToRGBA(hash) {
  const { PI, cos, max, min, round } = Math;
  const header24 = hash[0] | (hash[1] << 8) | (hash[2] << 16);
  const header16 = hash[3] | (hash[4] << 8);
  const lDc = (header24 & 63) / 63;
  const pDc = ((header24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((header24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((header24 >> 18) & 31) / 31;
  const hasAlpha = header24 >> 23;
  const pScale = ((header16 >> 3) & 63) / 63;
  const qScale = ((header16 >> 9) & 63) / 63;
  const landscape = header16 >> 15;
  const lx = max(3, landscape ? (hasAlpha ? 5 : 7) : header16 & 7);
  const ly = max(3, landscape ? header16 & 7 : hasAlpha ? 5 : 7);
  const aDc = hasAlpha ? (hash[5] & 15) / 15 : 1;
  const aScale = (hash[5] >> 4) / 15;
  const start = hasAlpha ? 6 : 5;
  let index = 0;
  const channel = (nx, ny, scale) => {
    const ac = [];
    for (let cy = 0; cy < ny; cy++) {
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++, index++) {
        const nibble = (hash[start + (index >> 1)] >> ((index & 1) << 2)) & 15;
        ac.push((nibble / 7.5 - 1) * scale);
      }
    }
    return ac;
  };
  const lAc = channel(lx, ly, lScale);
  const pAc = channel(3, 3, pScale * 1.25);
  const qAc = channel(3, 3, qScale * 1.25);
  const aAc = hasAlpha ? channel(5, 5, aScale) : null;
  const ratio = aspectRatio(hash);
  const w = round(ratio > 1 ? 32 : 32 * ratio);
  const h = round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8ClampedArray(w * h * 4);
  const fx = [];
  const fy = [];
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i += 4) {
      let l = lDc, p = pDc, q = qDc, a = aDc;
      for (let cx = 0, n = max(lx, hasAlpha ? 5 : 3); cx < n; cx++) fx[cx] = cos((PI / w) * (x + 0.5) * cx);
      for (let cy = 0, n = max(ly, hasAlpha ? 5 : 3); cy < n; cy++) fy[cy] = cos((PI / h) * (y + 0.5) * cy);
      for (let cy = 0, j = 0; cy < ly; cy++) {
        for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx * ly < lx * (ly - cy); cx++, j++) l += lAc[j] * fx[cx] * fy2;
      }
      for (let cy = 0, j = 0; cy < 3; cy++) {
        for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx < 3 - cy; cx++, j++) {
          const f = fx[cx] * fy2;
          p += pAc[j] * f;
          q += qAc[j] * f;
        }
      }
      if (aAc) {
        for (let cy = 0, j = 0; cy < 5; cy++) {
          for (let cx = cy ? 0 : 1, fy2 = fy[cy] * 2; cx < 5 - cy; cx++, j++) a += aAc[j] * fx[cx] * fy2;
        }
      }
      const b = l - (2 / 3) * p;
      const r = (3 * l - b + q) / 2;
      const g = r - q;
      rgba[i] = 255 * min(1, r);
      rgba[i + 1] = 255 * min(1, g);
      rgba[i + 2] = 255 * min(1, b);
      rgba[i + 3] = 255 * min(1, a);
    }
  }
  return [w, h, rgba];
}

// The width / height the hash records (approximately: the DCT's shape).
export function aspectRatio(hash) {
  const hasAlpha = hash[2] & 0x80;
  const landscape = hash[4] & 0x80;
  const lx = landscape ? (hasAlpha ? 5 : 7) : hash[3] & 7;
  const ly = landscape ? hash[3] & 7 : hasAlpha ? 5 : 7;
  return lx / ly;
}

function decode(base64) {
  try {
    return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  } catch {
    return null; // not base64: no placeholder
  }
}

const drawn = new Map(); // hash -> data URL: one decode per distinct placeholder

function dataURL(base64, canvas) {
  if (!drawn.has(base64)) {
    const hash = decode(base64);
    let url = null;
    const context = canvas.getContext("2d");
    if (hash && hash.length >= 5 && context) {
      const [w, h, rgba] = thumbHashToRGBA(hash);
      canvas.width = w;
      canvas.height = h;
      context.putImageData(new ImageData(rgba, w, h), 0, 0);
      url = canvas.toDataURL();
    }
    drawn.set(base64, url);
  }
  return drawn.get(base64);
}

// Draw the placeholder of each `[data-placeholder]` element inside `root` as its
// background, unless its image has already loaded. The background is a PNG data URL
// set through CSSOM: the Content-Security-Policy allows `img-src data:`, and no inline
// style attribute is written.
export function paintPlaceholders(root = document) {
  const canvas = document.createElement("canvas");
  for (const node of root.querySelectorAll("[data-placeholder]")) {
    const base64 = node.dataset.placeholder;
    node.removeAttribute("data-placeholder");
    const img = node.querySelector("img");
    if (img && img.complete && img.naturalWidth) continue;
    const url = dataURL(base64, canvas);
    if (!url) continue;
    node.style.backgroundImage = `url(${url})`;
    node.classList.add("placeheld");
  }
}
