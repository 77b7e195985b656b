// Photos before they are encrypted: scaled down to at most 1600 px, regions the person
// drags over (a face, a name on a wristband) pixelated in place, then re-encoded as JPEG.
// Only the re-encoded pixels leave this module: the original file, its other pixels and its
// metadata (EXIF, GPS position) are never sent.

import { t } from "./i18n.js";

export const MAX_SIDE = 1600;
export const JPEG_QUALITY = 0.85;

/** @typedef {{x: number, y: number, w: number, h: number}} Rect */

/**
 * Draw `file` on a new canvas, scaled so that its longer side is at most MAX_SIDE.
 * @param {Blob} file @returns {Promise<HTMLCanvasElement>}
 */
export async function loadPhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(t("photo.unreadable"));
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d")).drawImage(
    bitmap,
    0,
    0,
    canvas.width,
    canvas.height,
  );
  bitmap.close();
  return canvas;
}

/**
 * The block side for a region: about five blocks across its longer side, never under 16 px,
 * so that a face or a name is no longer recognisable.
 * @param {Rect} r @returns {number}
 */
export function blockSize(r) {
  return Math.max(16, Math.ceil(Math.max(r.w, r.h) / 5));
}

/**
 * Replace every pixel of `r` by the mean colour of its block (pixelation, in place).
 * @param {HTMLCanvasElement} canvas @param {Rect} rect
 */
export function pixelate(canvas, rect) {
  const r = clamp(canvas, rect);
  if (r.w < 1 || r.h < 1) return;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  const image = ctx.getImageData(r.x, r.y, r.w, r.h);
  const px = image.data;
  const side = blockSize(r);
  for (let by = 0; by < r.h; by += side) {
    for (let bx = 0; bx < r.w; bx += side) {
      const w = Math.min(side, r.w - bx);
      const h = Math.min(side, r.h - by);
      const sum = [0, 0, 0, 0];
      for (let y = by; y < by + h; y++) {
        for (let x = bx; x < bx + w; x++) {
          const i = (y * r.w + x) * 4;
          for (let c = 0; c < 4; c++) sum[c] += px[i + c];
        }
      }
      const mean = sum.map((s) => Math.round(s / (w * h)));
      for (let y = by; y < by + h; y++) {
        for (let x = bx; x < bx + w; x++) px.set(mean, (y * r.w + x) * 4);
      }
    }
  }
  ctx.putImageData(image, r.x, r.y);
}

/** @param {HTMLCanvasElement} canvas @param {Rect} r @returns {Rect} */
function clamp(canvas, r) {
  const x0 = Math.max(0, Math.floor(Math.min(r.x, r.x + r.w)));
  const y0 = Math.max(0, Math.floor(Math.min(r.y, r.y + r.h)));
  const x1 = Math.min(canvas.width, Math.ceil(Math.max(r.x, r.x + r.w)));
  const y1 = Math.min(canvas.height, Math.ceil(Math.max(r.y, r.y + r.h)));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/**
 * The canvas as JPEG bytes (what is encrypted and sent).
 * @param {HTMLCanvasElement} canvas @returns {Promise<Uint8Array>}
 */
export function toJpeg(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob(
      (blob) => {
        if (!blob) reject(new Error(t("photo.encoding_failed")));
        else blob.arrayBuffer().then((b) => resolve(new Uint8Array(b)), reject);
      },
      "image/jpeg",
      JPEG_QUALITY,
    );
  });
}

/**
 * Let the person drag rectangles on `canvas` (mouse, finger or pen); each one is pixelated
 * when released. Returns a function that stops listening.
 * @param {HTMLCanvasElement} canvas @param {(r: Rect) => void} onBlur
 * @returns {() => void}
 */
export function blurTool(canvas, onBlur) {
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  /** @type {{x: number, y: number, before: ImageData}|null} */
  let drag = null;
  /** @param {PointerEvent} e @returns {{x: number, y: number}} */
  const at = (e) => {
    const box = canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - box.left) * canvas.width) / box.width,
      y: ((e.clientY - box.top) * canvas.height) / box.height,
    };
  };
  /** @param {PointerEvent} e */
  const down = (e) => {
    e.preventDefault();
    canvas.setPointerCapture?.(e.pointerId);
    const p = at(e);
    drag = { ...p, before: ctx.getImageData(0, 0, canvas.width, canvas.height) };
  };
  /** @param {PointerEvent} e */
  const move = (e) => {
    if (!drag) return;
    const p = at(e);
    ctx.putImageData(drag.before, 0, 0); // the outline is a preview, not part of the photo
    ctx.strokeStyle = "#ff0";
    ctx.lineWidth = Math.max(2, canvas.width / 300);
    ctx.setLineDash([8, 6]);
    ctx.strokeRect(drag.x, drag.y, p.x - drag.x, p.y - drag.y);
  };
  /** @param {PointerEvent} e */
  const up = (e) => {
    if (!drag) return;
    const p = at(e);
    ctx.putImageData(drag.before, 0, 0);
    const rect = { x: drag.x, y: drag.y, w: p.x - drag.x, h: p.y - drag.y };
    drag = null;
    if (Math.abs(rect.w) >= 4 && Math.abs(rect.h) >= 4) {
      pixelate(canvas, rect);
      onBlur(rect);
    }
  };
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.style.touchAction = "none"; // a drag blurs instead of scrolling the page
  return () => {
    canvas.removeEventListener("pointerdown", down);
    canvas.removeEventListener("pointermove", move);
    canvas.removeEventListener("pointerup", up);
    canvas.removeEventListener("pointercancel", up);
  };
}
