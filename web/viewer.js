/**
 * The viewer page: drop or pick .rgc files (and, to compare, their originals), see each image, its region map
 * and what `rcodec info` tells of it. ?src=URL (and &original=URL) opens files from the server on load.
 */
import { SIGNATURE, decodeImageData, inspect, orient, regionMap } from './rgc.js';

const $ = (id) => document.getElementById(id);
const files = []; // {name, bytes, kind: 'rgc' | 'original', result?, error?}
let current = null;

/** Region colours for the map: background dark blue, then warmer as quality rises. */
const PALETTE = [
  [40, 70, 200],
  [230, 160, 0],
  [220, 50, 50],
  [40, 170, 90],
  [160, 60, 200],
  [0, 170, 200],
  [240, 110, 170],
  [120, 120, 120],
];
const regionColour = (i) => PALETTE[i % PALETTE.length];

/** Whether bytes start with the .rgc signature. */
function isRgc(bytes) {
  return bytes.length >= 8 && SIGNATURE.every((v, i) => bytes[i] === v);
}

/** The name without its folder and extension, to pair an .rgc with its original. */
const stem = (name) => name.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');

/** Add files (name and bytes) to the list and show the first new .rgc. */
async function add(entries) {
  let first = null;
  for (const { name, bytes } of entries) {
    const entry = { name, bytes, kind: isRgc(bytes) ? 'rgc' : 'original' };
    const old = files.findIndex((f) => f.name === name);
    if (old >= 0) files.splice(old, 1, entry);
    else files.push(entry);
    if (entry.kind === 'rgc' && !first) first = entry;
  }
  renderList();
  if (first) await show(first);
  else if (current) await show(current);
  else setStatus('No .rgc file among those: drop one (its original may come along).');
}

/** The original to compare an .rgc with: the image of the same stem, or the only image given. */
function originalFor(entry) {
  const originals = files.filter((f) => f.kind === 'original');
  return originals.find((f) => stem(f.name) === stem(entry.name)) ?? (originals.length === 1 ? originals[0] : null);
}

function renderList() {
  const list = $('list');
  list.replaceChildren(
    ...files
      .filter((f) => f.kind === 'rgc')
      .map((f) => {
        const button = document.createElement('button');
        button.textContent = f.name;
        button.setAttribute('aria-current', String(f === current));
        if (f.error) button.classList.add('failed');
        button.addEventListener('click', () => show(f));
        return button;
      }),
  );
}

function setStatus(text) {
  $('status').textContent = text;
}

/** Decode (once) and show an .rgc entry, its map, its info and its original. */
async function show(entry) {
  current = entry;
  renderList();
  setStatus(`Decoding ${entry.name}…`);
  $('error').hidden = true;
  if (!entry.result && !entry.error) {
    try {
      const start = performance.now();
      const image = await decodeImageData(entry.bytes);
      const ms = performance.now() - start;
      entry.result = { image, ms, info: inspect(entry.bytes), map: regionMap(entry.bytes) };
    } catch (error) {
      entry.error = error;
    }
  }
  if (entry !== current) return; // another file was chosen meanwhile
  renderList();
  if (entry.error) {
    $('decoded-stage').hidden = true;
    $('original-stage').hidden = true;
    const where = Number.isInteger(entry.error.offset) ? ` (byte ${entry.error.offset})` : '';
    $('error').textContent = `${entry.name} cannot be decoded${where}: ${entry.error.message}`;
    $('error').hidden = false;
    $('info').replaceChildren();
    setStatus(`${entry.name}: not decoded.`);
    return;
  }
  const { image, ms, info } = entry.result;
  draw($('decoded'), image);
  $('decoded-caption').textContent = `${image.width}×${image.height}, ${(info.fileBytes / 1024).toFixed(1)} KB`;
  $('decoded-stage').hidden = false;
  drawMap(entry);
  await showOriginal(entry);
  renderInfo(entry);
  setStatus(`${entry.name}: decoded in ${ms.toFixed(1)} ms.`);
}

function draw(canvas, imageData) {
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  canvas.getContext('2d').putImageData(imageData, 0, 0);
}

/** The region map over the image: each region's colour, translucent, and a line where regions meet. */
function drawMap(entry) {
  const { map, info } = entry.result;
  const { width, height, blockSize: B, cols } = map;
  const rgba = new Uint8ClampedArray(width * height * 4);
  const line = Math.max(1, Math.round(Math.min(width, height) / 400));
  for (let y = 0; y < height; y++) {
    const r = Math.floor(y / B);
    for (let x = 0; x < width; x++) {
      const c = Math.floor(x / B);
      const region = map.map[r * cols + c];
      const [cr, cg, cb] = regionColour(region);
      const edge =
        (x % B < line && c > 0 && map.map[r * cols + c - 1] !== region) ||
        (y % B < line && r > 0 && map.map[(r - 1) * cols + c] !== region);
      const o = (y * width + x) * 4;
      rgba[o] = edge ? 255 : cr;
      rgba[o + 1] = edge ? 255 : cg;
      rgba[o + 2] = edge ? 255 : cb;
      rgba[o + 3] = edge ? 230 : 90;
    }
  }
  const turned = orient(rgba, width, height, info.orientation);
  draw($('map'), new ImageData(turned.data, turned.width, turned.height));
  $('map').hidden = !$('overlay').checked;
}

/** The original beside the decoded image, with the PSNR between them, when one was dropped. */
async function showOriginal(entry) {
  const original = originalFor(entry);
  const toggle = $('compare');
  toggle.disabled = !original;
  if (!original) {
    $('original-stage').hidden = true;
    entry.result.psnr = null;
    return;
  }
  if (!original.imageData) {
    try {
      const bitmap = await createImageBitmap(new Blob([original.bytes]));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      ctx.drawImage(bitmap, 0, 0);
      original.imageData = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    } catch (error) {
      original.error = error;
    }
  }
  if (original.error) {
    $('original-caption').textContent = `${original.name}: not an image this browser reads`;
    entry.result.psnr = null;
  } else {
    draw($('original'), original.imageData);
    entry.result.psnr = psnr(original.imageData, entry.result.image);
    $('original-caption').textContent = `${original.name}`;
  }
  if (!toggle.dataset.touched) toggle.checked = true;
  $('original-stage').hidden = !toggle.checked;
}

/** PSNR in dB over R, G and B of two images of one size; null when the sizes differ. */
function psnr(a, b) {
  if (a.width !== b.width || a.height !== b.height) return null;
  let sum = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    for (let k = 0; k < 3; k++) {
      const d = a.data[i + k] - b.data[i + k];
      sum += d * d;
    }
  }
  const mse = sum / (a.width * a.height * 3);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** A table of rows of cells; a cell is text, or [text, className]. */
function table(head, rows) {
  const t = document.createElement('table');
  const tr = (cells, tag) => {
    const row = document.createElement('tr');
    for (const cell of cells) {
      const c = document.createElement(tag);
      if (cell instanceof Node) c.append(cell);
      else if (Array.isArray(cell)) [c.textContent, c.className] = cell;
      else c.textContent = cell;
      row.append(c);
    }
    return row;
  };
  if (head) t.createTHead().append(tr(head, 'th'));
  const body = t.createTBody();
  for (const row of rows) body.append(tr(row, 'td'));
  return t;
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;

/** What `rcodec info` says: size, mode, block size, and each region's codec, quality, scale, bytes and share. */
function renderInfo(entry) {
  const { info, ms, psnr: db } = entry.result;
  const pixels = info.width * info.height;
  const facts = [
    ['File', entry.name],
    ['Size', `${info.width} × ${info.height} (${info.mode})`],
    ['Block size', `${info.blockSize} px`],
    ['File bytes', `${info.fileBytes.toLocaleString()} (${((8 * info.fileBytes) / pixels).toFixed(3)} bits/pixel)`],
    ['Foreground', `${(100 * info.fgFraction).toFixed(1)}% of the pixels`],
  ];
  if (info.alphaBytes) facts.push(['Alpha', `${info.alphaBytes.toLocaleString()} bytes, lossless`]);
  for (const [name, bytes] of Object.entries(info.metadata)) facts.push([name, `${bytes.toLocaleString()} bytes`]);
  if (info.orientation !== 1) facts.push(['Orientation', `EXIF ${info.orientation}, applied`]);
  if (info.deblock) facts.push(['Deblocking', `on (A = ${info.deblock.a}, B = ${info.deblock.b})`]);
  facts.push(['Decoded in', `${ms.toFixed(1)} ms`]);
  if (db !== undefined && db !== null) facts.push(['PSNR vs original', Number.isFinite(db) ? `${db.toFixed(2)} dB` : 'identical']);
  const regions = info.regions.map((r) => {
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = `rgb(${regionColour(r.index).join(',')})`;
    const name = document.createElement('span');
    name.append(swatch, `${r.index} ${r.role.replace('level ', 'L')}`);
    return [
      name,
      r.codec.toUpperCase(),
      [String(r.quality), 'n'],
      [r.scale === 1 ? '1' : `1/${r.scale}`, 'n'],
      [r.bytes ? kb(r.bytes) : '–', 'n'],
      [`${(100 * r.fraction).toFixed(1)}%`, 'n'],
      [r.fraction ? ((8 * r.bytes) / (r.fraction * pixels)).toFixed(2) : '–', 'n'],
    ];
  });
  const h2 = document.createElement('h2');
  h2.textContent = 'Regions';
  $('info').replaceChildren(
    table(null, facts),
    h2,
    table(['region', 'codec', 'quality', 'scale', 'bytes', 'pixels', 'bits/px'], regions),
  );
}

async function readFiles(fileList) {
  await add(await Promise.all([...fileList].map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) }))));
}

async function fetchFile(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return { name: decodeURIComponent(new URL(url, location.href).pathname.split('/').pop()), bytes: new Uint8Array(await response.arrayBuffer()) };
}

$('files').addEventListener('change', (event) => readFiles(event.target.files));
$('overlay').addEventListener('change', () => ($('map').hidden = !$('overlay').checked));
$('compare').addEventListener('change', () => {
  $('compare').dataset.touched = '1';
  $('original-stage').hidden = !$('compare').checked || !current?.result || !originalFor(current);
});
document.addEventListener('keydown', (event) => {
  if (event.target instanceof HTMLInputElement && event.target.type !== 'checkbox') return;
  const toggle = { m: 'overlay', o: 'compare' }[event.key];
  if (toggle && !$(toggle).disabled) $(toggle).click();
});
let dragDepth = 0;
document.addEventListener('dragenter', (event) => {
  event.preventDefault();
  dragDepth++;
  $('drop').hidden = false;
});
document.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) $('drop').hidden = true;
});
document.addEventListener('dragover', (event) => event.preventDefault());
document.addEventListener('drop', (event) => {
  event.preventDefault();
  dragDepth = 0;
  $('drop').hidden = true;
  readFiles(event.dataTransfer.files);
});

const params = new URLSearchParams(location.search);
const urls = [...params.getAll('src'), ...params.getAll('original')];
if (urls.length) {
  Promise.all(urls.map(fetchFile))
    .then(add)
    .catch((error) => setStatus(String(error.message)));
}
