/**
 * rgc.js: decode .rgc images (spec/format.md, version 1) in the browser.
 *
 * An ES module with no build step: `import { decodeImageData } from './rgc.js'`.
 * It reads like the spec: the container (§3-§10) is checked in full, and every
 * stream's own header (§7.2, §7.5) against the size the container gives it,
 * before anything of the image's size is allocated; the browser's own decoders
 * turn the JPEG, WebP and AVIF streams into samples; everything after them is
 * the integer arithmetic of §11, so the pixels match the reference decoder bit
 * for bit wherever the stream decoders agree (libjpeg-turbo's islow IDCT, which
 * Chromium uses). Every fault is an RgcError carrying the byte offset where it
 * lies; nothing is returned unless the whole file decoded.
 */
import { decompress as zstdDecompress } from './vendor/fzstd.js';
import { WASM as COLOUR_WASM } from './kernels/colour.js';
import { WASM as DEBLOCK_WASM } from './kernels/deblock.js';

/** An .rgc file broke the spec, or a stream in it could not be decoded; offset is the byte of the file at fault. */
export class RgcError extends Error {
  /** @param {string} message @param {number} offset */
  constructor(message, offset) {
    super(message);
    this.name = 'RgcError';
    this.offset = offset;
  }
}

/** §3: high bit, "RGC", CR LF, ^Z, LF. */
export const SIGNATURE = Uint8Array.of(0x89, 0x52, 0x47, 0x43, 0x0d, 0x0a, 0x1a, 0x0a);
export const VERSION = 1; // §5
export const MAX_DIMENSION = 65500; // §12: JPEG's own limit on a side
export const DEFAULT_MAX_PIXELS = 178956970; // §12: Pillow's decompression-bomb limit
export const MEDIA_TYPE = 'image/x-rgc'; // §14
const MAX_CHUNK_LENGTH = 0x7fffffff; // §4
const ANCILLARY_BIT = 0x20; // §4: lower-case first letter
const MODES = { 1: 'L', 2: 'LA', 3: 'RGB', 4: 'RGBA' }; // §5: the code is the number of channels
const BLOCK_SIZES = [8, 16, 32, 64]; // §5
const CODECS = { 1: 'jpeg', 2: 'webp', 3: 'avif' }; // §7
const SCALES = [1, 2, 4]; // §7
const ALPHA_FILTER = 1; // §8: left difference
const LAYR_FIELDS = 8; // §7: region, codec, quality, scale, first length
const METADATA = { exif: 'exif', iccp: 'iccProfile', xmpd: 'xmp' }; // §9: chunk type -> field
const CANVAS_TYPES = { webp: 'image/webp', avif: 'image/avif' };
const CANVAS_LIMITS = { // §12: [largest side, most pixels] a canvas codec's decoders take
  webp: [16383, 16383 * 16383], // libwebp's own limit
  avif: [32768, 16384 * 16384], // libavif's default imageDimensionLimit and imageSizeLimit
};
const JPEG_CODE = 1; // §7: the layer codec whose bytes bound its blocks (§6)
const DEBLOCK_METHODS = [1]; // §7.8: 1 = the ramp filter of §11.8
const DEBLOCK_A = 16; // §7.8: A is 1..16, the alpha factor in eighths of an edge's strength
const DEBLOCK_B = 15; // §7.8: B is 1..15, the beta factor in sixteenths
const CHROMA_SHARE = 1.5; // §6: Cb and Cr mosaics add half the luma mosaic's samples in modes 3 and 4
const BLOCK_BITS = 8 * 8 * 8; // §6, §7.2: a JPEG stream spends at least a bit on each 8x8 block
const TILE_PIXELS = 1 << 22; // a stream is read back from the browser 4 Mpixel (16 MB of RGBA) at a time
const TILE_SIDE = 8192; // and no tile side above this, far inside every browser's canvas limits

// ---------------------------------------------------------------- bytes

/** A Uint8Array view of bytes given as a Uint8Array, ArrayBuffer or other typed array. */
function asBytes(input) {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('expected the bytes of an .rgc file (Uint8Array or ArrayBuffer)');
}

/** Big-endian u16 and u32 (§2); little-endian ones for WebP and zstd. */
const u16 = (b, i) => (b[i] << 8) | b[i + 1];
const u32 = (b, i) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
const le16 = (b, i) => b[i] | (b[i + 1] << 8);
const le24 = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const le32 = (b, i) => (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
const ascii = (b, i, n) => String.fromCharCode(...b.subarray(i, i + n));

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 of ISO 3309 / ITU-T V.42 (§2) over bytes[start, end). */
export function crc32(bytes, start = 0, end = bytes.length) {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- §3, §4: signature and chunks

/** Each chunk as {type, data, offset} after checking its type, length and CRC (§4). */
function* chunks(bytes) {
  const n = Math.min(bytes.length, SIGNATURE.length);
  if (n === 0 || SIGNATURE.some((v, i) => i < n && bytes[i] !== v)) {
    throw new RgcError('not an .rgc file: the first 8 bytes are not the .rgc signature', 0);
  }
  if (bytes.length < SIGNATURE.length) {
    throw new RgcError(`file is ${bytes.length} bytes, shorter than the 8-byte signature`, 0);
  }
  let offset = SIGNATURE.length;
  while (offset < bytes.length) {
    if (bytes.length - offset < 8) throw new RgcError(`chunk header at byte ${offset} is cut off`, offset);
    const length = u32(bytes, offset);
    const type = ascii(bytes, offset + 4, 4);
    if (!/^[A-Za-z]{4}$/.test(type)) {
      throw new RgcError(`chunk type at byte ${offset} is not four ASCII letters`, offset);
    }
    if (length > MAX_CHUNK_LENGTH) {
      throw new RgcError(`${type} chunk at byte ${offset} declares ${length} bytes, over 2^31-1`, offset);
    }
    const end = offset + 8 + length;
    if (end + 4 > bytes.length) {
      throw new RgcError(`${type} chunk at byte ${offset} declares ${length} bytes but the file ends first`, offset);
    }
    if (u32(bytes, end) !== crc32(bytes, offset + 4, end)) {
      throw new RgcError(`${type} chunk at byte ${offset} fails its CRC check`, offset);
    }
    yield { type, data: bytes.subarray(offset + 8, end), offset };
    offset = end + 4;
  }
}

// ---------------------------------------------------------------- §5: HEAD

/** The HEAD chunk checked field by field (§5) against the limits of §12. */
function readHead(chunk, maxPixels) {
  if (!chunk) throw new RgcError('file ends after the signature, before its HEAD chunk', SIGNATURE.length);
  const { type, data, offset } = chunk;
  if (type !== 'HEAD') throw new RgcError(`first chunk is ${type}, not HEAD`, offset);
  if (data.length && data[0] !== VERSION) {
    throw new RgcError(`unsupported .rgc version ${data[0]} (this reader knows version ${VERSION})`, offset);
  }
  if (data.length !== 12) throw new RgcError(`HEAD chunk is ${data.length} bytes, not 12`, offset);
  const width = u32(data, 1);
  const height = u32(data, 5);
  const [modeCode, blockSize, regions] = [data[9], data[10], data[11]];
  if (!(width >= 1 && width <= MAX_DIMENSION && height >= 1 && height <= MAX_DIMENSION)) {
    throw new RgcError(`image size ${width}x${height} is outside 1..${MAX_DIMENSION} on a side`, offset);
  }
  if (width * height > maxPixels) {
    throw new RgcError(
      `image is ${width}x${height} = ${width * height} pixels, over the limit of ${maxPixels}` +
        ' (raise maxPixels if you trust this file)',
      offset,
    );
  }
  const mode = MODES[modeCode];
  if (!mode) throw new RgcError(`unknown mode code ${modeCode} in HEAD`, offset);
  const colour = mode.replace('A', '');
  if (!BLOCK_SIZES.includes(blockSize) || (colour === 'RGB' && blockSize < 16)) {
    throw new RgcError(`block size ${blockSize} is not allowed for mode ${mode}`, offset);
  }
  if (regions < 1) throw new RgcError('HEAD declares zero regions', offset);
  return {
    width,
    height,
    mode,
    channels: modeCode,
    colour,
    hasAlpha: mode.endsWith('A'),
    blockSize,
    regions,
    rows: Math.ceil(height / blockSize),
    cols: Math.ceil(width / blockSize),
  };
}

// ---------------------------------------------------------------- §6, §8: zstd frames

/**
 * The layout of the one Zstandard frame (RFC 8878) that must fill data: its declared content size and where
 * its blocks end, found by reading the frame header and walking the block headers, without decompressing.
 */
function zstdFrame(data, what, offset) {
  if (data.length < 5 || le32(data, 0) !== 0xfd2fb528) throw new RgcError(`${what} is not a zstd frame`, offset);
  const descriptor = data[4];
  const sizeFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictionaryBytes = [0, 1, 2, 4][descriptor & 3];
  if (descriptor & 0x08) throw new RgcError(`${what} is not a zstd frame (reserved bit set)`, offset);
  let at = 5 + (singleSegment ? 0 : 1);
  if (at + dictionaryBytes > data.length) throw new RgcError(`${what} is not a zstd frame (header cut off)`, offset);
  for (let i = 0; i < dictionaryBytes; i++) {
    if (data[at + i]) throw new RgcError(`${what} needs a zstd dictionary`, offset);
  }
  at += dictionaryBytes;
  const sizeBytes = sizeFlag ? 1 << sizeFlag : singleSegment;
  if (!sizeBytes) throw new RgcError(`${what} does not declare its content size`, offset);
  if (at + sizeBytes > data.length) throw new RgcError(`${what} is not a zstd frame (header cut off)`, offset);
  let contentSize = 0;
  for (let i = sizeBytes - 1; i >= 0; i--) contentSize = contentSize * 256 + data[at + i];
  if (sizeBytes === 2) contentSize += 256;
  const headerEnd = at + sizeBytes;
  let blocks = headerEnd;
  let last = 0;
  let lastBlock = -1;
  while (!last) {
    if (blocks + 3 > data.length) throw new RgcError(`${what} is not exactly one zstd frame (cut off)`, offset);
    const header = le24(data, blocks);
    last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) throw new RgcError(`${what} is damaged: reserved zstd block type`, offset);
    if (size > 1 << 17) throw new RgcError(`${what} is damaged: a zstd block is over 128 KB`, offset);
    lastBlock = blocks;
    blocks += 3 + (type === 1 ? 1 : size);
  }
  const end = blocks + 4 * checksum;
  if (end !== data.length) throw new RgcError(`${what} is not exactly one zstd frame`, offset);
  return { contentSize, blocksEnd: blocks, lastBlock };
}

/** FormatError-style check of §6 and §8: data is one zstd frame that declares exactly expected bytes. */
function checkDeclaredSize(data, expected, what, needs, unit, offset) {
  const frame = zstdFrame(data, what, offset);
  if (frame.contentSize !== expected) {
    throw new RgcError(`${what} declares ${frame.contentSize} ${unit} bytes; ${needs} needs ${expected}`, offset);
  }
  return frame;
}

const XXH_PRIMES = [0x9e3779b185ebca87n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0x85ebca77c2b2ae63n, 0x27d4eb2f165667c5n];
const U64 = (1n << 64n) - 1n;
const rotl64 = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & U64;

/** XXH64 of bytes with seed 0, whose low 32 bits are a zstd frame's content checksum (RFC 8878 §3.1.1). */
export function xxh64(bytes) {
  const [P1, P2, P3, P4, P5] = XXH_PRIMES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lane = (i) => view.getBigUint64(i, true);
  const round = (acc, input) => (rotl64((acc + input * P2) & U64, 31) * P1) & U64;
  const n = bytes.length;
  let i = 0;
  let h;
  if (n >= 32) {
    const v = [(P1 + P2) & U64, P2, 0n, (U64 + 1n - P1) & U64];
    for (; i + 32 <= n; i += 32) for (let k = 0; k < 4; k++) v[k] = round(v[k], lane(i + 8 * k));
    h = (rotl64(v[0], 1) + rotl64(v[1], 7) + rotl64(v[2], 12) + rotl64(v[3], 18)) & U64;
    for (const x of v) h = (((h ^ round(0n, x)) * P1) & U64) + P4 & U64;
  } else {
    h = P5;
  }
  h = (h + BigInt(n)) & U64;
  for (; i + 8 <= n; i += 8) h = ((rotl64(h ^ round(0n, lane(i)), 27) * P1) & U64) + P4 & U64;
  if (i + 4 <= n) {
    h = ((rotl64(h ^ ((BigInt(view.getUint32(i, true)) * P1) & U64), 23) * P2) & U64) + P3 & U64;
    i += 4;
  }
  for (; i < n; i++) h = (rotl64(h ^ ((BigInt(bytes[i]) * P5) & U64), 11) * P1) & U64;
  h = ((h ^ (h >> 33n)) * P2) & U64;
  h = ((h ^ (h >> 29n)) * P3) & U64;
  return h ^ (h >> 32n);
}

/**
 * The content of a zstd frame that must be exactly expected bytes, its declared size checked before anything
 * is allocated (§6, §8). fzstd writes into the buffer it is given and does not report how much it wrote, so the
 * frame is decoded with one raw block of one byte appended (the last-block bit moved to it): that byte lands
 * where the frame's own content ends, a buffer of expected + 1 bytes tells exact from short, and a longer
 * content throws when the raw block is written past the end.
 */
function zstdContent(data, expected, what, needs, unit, offset) {
  const frame = checkDeclaredSize(data, expected, what, needs, unit, offset);
  const probe = new Uint8Array(frame.blocksEnd + 4);
  probe.set(data.subarray(0, frame.blocksEnd));
  probe[4] &= ~0x04; // the checksum, if any, is checked below: the probe block would break it
  probe[frame.lastBlock] &= ~1;
  probe.set([0x09, 0x00, 0x00, 0x01], frame.blocksEnd); // last, raw, one byte: 1
  const out = new Uint8Array(expected + 1);
  try {
    zstdDecompress(probe, out);
  } catch (error) {
    throw new RgcError(`${what} is damaged or not exactly one frame of ${expected} bytes (${error.message})`, offset);
  }
  if (out[expected] !== 1) throw new RgcError(`${what} is not exactly one frame of ${expected} bytes`, offset);
  const content = out.subarray(0, expected);
  if (data[4] & 0x04 && le32(data, frame.blocksEnd) !== Number(xxh64(content) & 0xffffffffn)) {
    throw new RgcError(`${what} is damaged: its zstd content checksum does not match`, offset);
  }
  return content;
}

// ---------------------------------------------------------------- §6: BMAP

/** The R x C block map, trusting no size its frame declares (§6), and the blocks each region has. */
function readMap(data, head, offset) {
  const { rows, cols, regions } = head;
  const what = `BMAP chunk at byte ${offset}`;
  const map = zstdContent(data, rows * cols, what, `a ${rows}x${cols} block grid`, 'map', offset);
  const counts = new Int32Array(regions);
  let top = 0;
  for (let i = 0; i < map.length; i++) {
    const region = map[i];
    if (region > top) top = region;
    if (region < regions) counts[region]++;
  }
  if (top >= regions) throw new RgcError(`BMAP names region ${top} but HEAD declares ${regions} regions`, offset);
  return { map, counts };
}

/**
 * RgcError if the file's JPEG layers hold too few bytes to code the block grid (§6), before the map is built.
 * The LAYR chunks from start on are read by their lengths and fields only; with any canvas layer the rule does
 * not apply (a canvas's bytes do not bound its pixels).
 */
function checkStreamsCouldCode(head, bytes, start, offset) {
  const layers = [];
  for (let at = start; at + 8 <= bytes.length; ) {
    const length = u32(bytes, at);
    const type = ascii(bytes, at + 4, 4);
    const end = at + 8 + length;
    if (type === 'DONE' || end > bytes.length) break;
    if (type === 'LAYR' && length >= LAYR_FIELDS) layers.push({ code: bytes[at + 9], scale: bytes[at + 11], streamBytes: length - LAYR_FIELDS });
    at = end + 4;
  }
  const coded = layers.filter((layer) => layer.streamBytes);
  if (!coded.length || coded.some((l) => l.code !== JPEG_CODE || !SCALES.includes(l.scale))) return;
  const side = head.blockSize / Math.max(...coded.map((l) => l.scale));
  const share = head.mode === 'RGB' || head.mode === 'RGBA' ? CHROMA_SHARE : 1;
  const needed = Math.ceil(Math.trunc(head.rows * head.cols * side * side * share) / BLOCK_BITS);
  const held = coded.reduce((sum, l) => sum + l.streamBytes, 0);
  if (held < needed) {
    throw new RgcError(
      `BMAP chunk at byte ${offset}: a ${head.rows}x${head.cols} block grid needs at least ${needed} bytes of ` +
        `JPEG streams (a bit per 8x8 block, §6); the layers hold ${held}`,
      offset,
    );
  }
}

// ---------------------------------------------------------------- §8: ALPH

/** An ALPH chunk whose placement, filter and declared size are checked; decompressing waits (§8). */
function readAlpha(data, head, state, offset) {
  if (!head.hasAlpha) {
    throw new RgcError(`ALPH chunk at byte ${offset} in a file of mode ${head.mode}, which has no alpha`, offset);
  }
  if (!state.map) throw new RgcError(`ALPH chunk at byte ${offset} comes before the BMAP chunk`, offset);
  if (state.alpha) throw new RgcError(`second ALPH chunk at byte ${offset}`, offset);
  if (state.layers.length) throw new RgcError(`ALPH chunk at byte ${offset} comes after a LAYR chunk`, offset);
  if (!data.length || data[0] !== ALPHA_FILTER) {
    const found = data.length ? data[0] : 'none';
    throw new RgcError(`ALPH chunk at byte ${offset} uses filter ${found}; only ${ALPHA_FILTER} is defined`, offset);
  }
  const needs = `a ${head.width}x${head.height} image`;
  checkDeclaredSize(data.subarray(1), head.width * head.height, `ALPH chunk at byte ${offset}`, needs, 'alpha', offset);
  return { data, offset };
}

/** The H x W alpha plane: the frame's residuals with the left-difference filter undone, modulo 256 (§8). */
function alphaPlane(alpha, head) {
  const { width, height } = head;
  const what = `ALPH chunk at byte ${alpha.offset}`;
  const needs = `a ${width}x${height} image`;
  const plane = zstdContent(alpha.data.subarray(1), width * height, what, needs, 'alpha', alpha.offset);
  for (let row = 0; row < width * height; row += width) {
    for (let i = row + 1; i < row + width; i++) plane[i] += plane[i - 1]; // a Uint8Array wraps modulo 256
  }
  return plane;
}

// ---------------------------------------------------------------- §7.8: DBLK

/** A DBLK chunk checked against §7.8: placed after BMAP, before any LAYR, once; a known method; factors in range. */
function readDeblock(data, state, offset) {
  if (!state.map || state.layers.length || state.deblock) {
    const where = !state.map ? 'before the BMAP chunk' : state.layers.length ? 'after a LAYR chunk' : 'twice';
    throw new RgcError(`DBLK chunk at byte ${offset} comes ${where}`, offset);
  }
  if (data.length !== 3) throw new RgcError(`DBLK chunk at byte ${offset} is ${data.length} bytes, not 3`, offset);
  const [method, a, b] = data;
  if (!DEBLOCK_METHODS.includes(method)) {
    throw new RgcError(`DBLK chunk at byte ${offset} names filter method ${method}; only 1 is defined`, offset);
  }
  if (a < 1 || a > DEBLOCK_A || b < 1 || b > DEBLOCK_B) {
    throw new RgcError(
      `DBLK chunk at byte ${offset} has A = ${a}, B = ${b}; A must be 1..${DEBLOCK_A}, B 1..${DEBLOCK_B}`,
      offset,
    );
  }
  return { method, a, b };
}

// ---------------------------------------------------------------- §9: metadata

const TIFF_HEADERS = [
  [0x49, 0x49, 0x2a, 0x00],
  [0x4d, 0x4d, 0x00, 0x2a],
];

/** What breaks §9's rule for a metadata chunk's data, or null. */
function metadataProblem(type, data) {
  if (!data.length) return 'is empty';
  if (type === 'exif' && !TIFF_HEADERS.some((h) => h.every((v, i) => data[i] === v))) {
    return 'does not start with a TIFF header (II*\\0 or MM\\0*)';
  }
  if (type === 'iccp' && (data.length < 128 || ascii(data, 36, 4) !== 'acsp')) {
    return "is not an ICC profile (no 'acsp' signature at byte 36 of a 128-byte header)";
  }
  if (type === 'xmpd') {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      return 'is not UTF-8 text';
    }
  }
  return null;
}

/** The EXIF orientation (1-8, TIFF tag 0x0112 in IFD0) of exif chunk data; 1 where it has none (§9.1). */
export function exifOrientation(exif) {
  if (!exif || exif.length < 8) return 1;
  const little = exif[0] === 0x49;
  const get16 = (i) => (little ? le16(exif, i) : u16(exif, i));
  const get32 = (i) => (little ? le32(exif, i) : u32(exif, i));
  const ifd = get32(4);
  if (ifd + 2 > exif.length) return 1;
  const entries = get16(ifd);
  for (let k = 0; k < entries; k++) {
    const at = ifd + 2 + 12 * k;
    if (at + 12 > exif.length) break;
    if (get16(at) === 0x0112 && get16(at + 2) === 3) {
      const value = get16(at + 8);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

// ---------------------------------------------------------------- §7: LAYR

/** One LAYR chunk checked against §7 and the blocks the map gives its region. */
function readLayer(data, head, counts, index, offset) {
  if (data.length < LAYR_FIELDS) {
    throw new RgcError(`LAYR chunk at byte ${offset} is ${data.length} bytes, shorter than its fields`, offset);
  }
  const [region, code, quality, scale] = data;
  const firstLength = u32(data, 4);
  if (index >= head.regions) {
    throw new RgcError(`LAYR chunk at byte ${offset} is one more than the ${head.regions} declared`, offset);
  }
  if (region !== index) {
    throw new RgcError(`LAYR chunk at byte ${offset} is for region ${region}; region ${index} comes next`, offset);
  }
  const codec = CODECS[code];
  if (!codec) throw new RgcError(`LAYR chunk at byte ${offset} uses unknown codec ${code}`, offset);
  if (quality < 1 || quality > 100) {
    throw new RgcError(`LAYR chunk at byte ${offset} has quality ${quality}, outside 1..100`, offset);
  }
  if (!SCALES.includes(scale)) {
    throw new RgcError(`LAYR chunk at byte ${offset} has scale ${scale}, not one of 1, 2, 4`, offset);
  }
  const rest = data.length - LAYR_FIELDS;
  if (firstLength > rest) {
    throw new RgcError(
      `LAYR chunk at byte ${offset} declares a ${firstLength}-byte first stream; ${rest} are present`,
      offset,
    );
  }
  const first = data.subarray(LAYR_FIELDS, LAYR_FIELDS + firstLength);
  const second = data.subarray(LAYR_FIELDS + firstLength);
  const streams = layerStreams(head.colour, codec, first, second, offset);
  const hasBlocks = counts[region] > 0;
  if (hasBlocks !== streams.length > 0) {
    const state = hasBlocks ? 'has blocks but no streams' : 'has no blocks but carries streams';
    throw new RgcError(`region ${region} ${state} (LAYR chunk at byte ${offset})`, offset);
  }
  return { region, codec, quality, scale, streams, offset, blocks: counts[region] };
}

/** The streams a layer must carry (§7): none; JPEG luma, plus chroma for RGB; or one canvas. */
function layerStreams(colour, codec, first, second, offset) {
  if (!first.length && !second.length) return [];
  if (!first.length) throw new RgcError(`LAYR at byte ${offset} has a second stream but no first one`, offset);
  if (codec !== 'jpeg') {
    if (second.length) throw new RgcError(`LAYR of codec ${codec} at byte ${offset} carries a second stream`, offset);
    return [first];
  }
  if (colour === 'L') {
    if (second.length) throw new RgcError(`LAYR of a greyscale image at byte ${offset} carries a chroma stream`, offset);
    return [first];
  }
  if (!second.length) throw new RgcError(`LAYR of an RGB image at byte ${offset} lacks its chroma stream`, offset);
  return [first, second];
}

// ---------------------------------------------------------------- §10, §11.1 steps 1-6: the whole container

/**
 * Parse and check a whole .rgc file without decoding any pixels (§3-§10): {head, map, counts, layers, alpha,
 * deblock ({method, a, b} of the DBLK chunk, or null), metadata, orientation, size}. Stream headers are checked by
 * decode(), which needs the mosaic sizes.
 */
export function parse(input, { maxPixels = DEFAULT_MAX_PIXELS } = {}) {
  const bytes = asBytes(input);
  const reader = chunks(bytes);
  const head = readHead(reader.next().value, maxPixels);
  const state = { map: null, counts: null, alpha: null, deblock: null, layers: [], metadata: {} };
  for (const { type, data, offset } of reader) {
    if (type === 'DONE') {
      if (data.length) throw new RgcError(`DONE chunk at byte ${offset} is not empty`, offset);
      const after = bytes.length - offset - 12;
      if (after) throw new RgcError(`${after} bytes follow the DONE chunk`, offset + 12);
      return finish(head, state, bytes.length, offset);
    }
    if (type === 'HEAD') throw new RgcError(`second HEAD chunk at byte ${offset}`, offset);
    if (type === 'BMAP') {
      if (state.map) throw new RgcError(`second BMAP chunk at byte ${offset}`, offset);
      checkStreamsCouldCode(head, bytes, offset + 12 + data.length, offset);
      Object.assign(state, readMap(data, head, offset));
    } else if (type === 'ALPH') {
      state.alpha = readAlpha(data, head, state, offset);
    } else if (type === 'DBLK') {
      state.deblock = readDeblock(data, state, offset);
    } else if (type === 'LAYR') {
      if (!state.map) throw new RgcError(`LAYR chunk at byte ${offset} comes before the BMAP chunk`, offset);
      if (head.hasAlpha && !state.alpha) {
        throw new RgcError(`LAYR chunk at byte ${offset} comes before the ALPH chunk`, offset);
      }
      state.layers.push(readLayer(data, head, state.counts, state.layers.length, offset));
    } else if (type in METADATA) {
      if (state.map) throw new RgcError(`${type} chunk at byte ${offset} comes after the BMAP chunk`, offset);
      const field = METADATA[type];
      if (field in state.metadata) throw new RgcError(`second ${type} chunk at byte ${offset}`, offset);
      const problem = metadataProblem(type, data);
      if (problem) throw new RgcError(`${type} chunk at byte ${offset} ${problem}`, offset);
      state.metadata[field] = data;
    } else if (!(type.charCodeAt(0) & ANCILLARY_BIT)) {
      throw new RgcError(`unknown critical chunk ${type} at byte ${offset}`, offset);
    }
  }
  throw new RgcError('file ends before its DONE chunk', bytes.length);
}

/** The parsed file, once every critical chunk the header calls for is present (§10). */
function finish(head, state, size, offset) {
  if (!state.map) throw new RgcError('file has no BMAP chunk', offset);
  if (head.hasAlpha && !state.alpha) throw new RgcError(`file of mode ${head.mode} has no ALPH chunk`, offset);
  if (state.layers.length !== head.regions) {
    throw new RgcError(`file has ${state.layers.length} LAYR chunks; HEAD declares ${head.regions}`, offset);
  }
  const { map, counts, alpha, deblock, layers, metadata } = state;
  return { head, map, counts, alpha, deblock, layers, metadata, orientation: exifOrientation(metadata.exif), size };
}

/**
 * Size, mode, and per region its role, codec, quality, scale, bytes and share of the pixels, as `rcodec info`; and
 * the deblocking filter the file asks for.
 */
export function inspect(input) {
  const file = parse(input, { maxPixels: MAX_DIMENSION * MAX_DIMENSION });
  const { head, map, layers } = file;
  const areas = regionAreas(head, map);
  const regions = layers.map((layer, i) => ({
    index: layer.region,
    role: layer.region === 0 ? 'background' : layer.region === layers.length - 1 ? 'foreground' : `level ${i}`,
    codec: layer.codec,
    quality: layer.quality,
    scale: layer.scale,
    bytes: layer.streams.reduce((sum, s) => sum + s.length, 0),
    blocks: layer.blocks,
    fraction: areas[i] / (head.width * head.height),
  }));
  const metadata = Object.fromEntries(Object.entries(file.metadata).map(([k, v]) => [k, v.length]));
  return {
    width: head.width,
    height: head.height,
    mode: head.mode,
    blockSize: head.blockSize,
    fgFraction: 1 - areas[0] / (head.width * head.height),
    regions,
    fileBytes: file.size,
    alphaBytes: file.alpha ? file.alpha.data.length : 0,
    metadata,
    orientation: file.orientation,
    deblock: file.deblock, // {method, a, b} of the DBLK chunk (§7.8), or null: nothing is deblocked
  };
}

/** Visible pixels of each region: every block B x B, less what lies past the image's right and bottom edges. */
function regionAreas(head, map) {
  const { rows, cols, blockSize: b, width, height } = head;
  const areas = new Float64Array(head.regions);
  for (let r = 0; r < rows; r++) {
    const h = Math.min(b, height - r * b);
    for (let c = 0; c < cols; c++) areas[map[r * cols + c]] += h * Math.min(b, width - c * b);
  }
  return areas;
}

// ---------------------------------------------------------------- §7.1, §7.2: mosaics and JPEG headers

/** Rows and columns of the mosaic holding count blocks of a grid cols wide (§7.1). */
export function mosaicShape(count, cols) {
  const mc = Math.min(count, cols);
  return [Math.ceil(count / mc), mc];
}

const SOF_HUFFMAN = new Set([0xc0, 0xc1, 0xc2]); // baseline, extended, progressive (Huffman)
const MAX_STREAM_PIXELS = 2 ** 30; // §12: the most pixels a JPEG stream's frame may declare
const SOF_OTHER = new Set([0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const BEFORE_FRAME = new Set([0xc4, 0xcc, 0xdb, 0xdd, 0xfe, ...Array.from({ length: 16 }, (_, i) => 0xe0 + i)]);

const FRAME_WALK = new Set([...BEFORE_FRAME, ...SOF_HUFFMAN, ...SOF_OTHER]); // SOF_OTHER only to refuse it by name
const APP_AND_COM = new Set([0xfe, ...Array.from({ length: 16 }, (_, i) => 0xe0 + i)]); // metadata: §7.2

/**
 * The JPEG stream's frame header, read by following the segments before it (§7.2) without decoding:
 * {rows, cols, components}. Only DQT, DHT, DAC, DRI, APPn and COM may precede it, each
 * marker a single 0xFF, so this walk lands on the frame header libjpeg will use.
 */
export function jpegFrameHeader(data, what, offset) {
  if (data.length < 2 || data[0] !== 0xff || data[1] !== 0xd8) {
    throw new RgcError(`${what} is not a JPEG stream (no SOI marker)`, offset);
  }
  for (const [marker, at, length] of segments(data, what, offset, FRAME_WALK, 'before its frame header')) {
    if (SOF_OTHER.has(marker)) {
      throw new RgcError(`${what} uses a JPEG process other than baseline or progressive Huffman`, offset);
    }
    if (SOF_HUFFMAN.has(marker)) {
      if (length - 2 < 6) {
        throw new RgcError(`${what} has a frame header of ${length - 2} bytes, too short for its size`, offset);
      }
      if (data[at + 4] !== 8) {
        throw new RgcError(`${what} has ${data[at + 4]}-bit samples; the container needs 8-bit`, offset);
      }
      return { rows: u16(data, at + 5), cols: u16(data, at + 7), components: data[at + 9] };
    }
  }
  throw new RgcError(`${what} has no readable JPEG frame header`, offset);
}

/**
 * [marker, byte, length] of each segment after SOI, walked by their lengths (§7.2), while the caller reads.
 * RgcError, naming the byte, where no marker starts (garbage, which libjpeg would skip), where the marker is not
 * among allowed (a fill byte, 0xFF, never is; where says where the walk is), or where the segment runs past the
 * stream.
 */
function* segments(data, what, offset, allowed, where) {
  for (let at = 2; at + 4 <= data.length; ) {
    const marker = data[at + 1];
    const length = u16(data, at + 2);
    if (data[at] !== 0xff) throw new RgcError(`${what} has no JPEG marker at byte ${at}, where one should start`, offset);
    if (!allowed.has(marker)) {
      const hex = marker.toString(16).toUpperCase().padStart(2, '0');
      throw new RgcError(`${what} has marker 0xFF${hex} at byte ${at}, ${where}`, offset);
    }
    if (length < 2 || at + 2 + length > data.length) {
      throw new RgcError(`${what} has a segment at byte ${at} of length ${length}, past its end`, offset);
    }
    yield [marker, at, length];
    at += 2 + length;
  }
}

/** RgcError unless a JPEG stream's frame header is one component of exactly rows x cols (§7.2). */
function checkJpeg(stream, rows, cols) {
  const header = jpegFrameHeader(stream.data, stream.what, stream.offset);
  if (header.components !== 1 || header.rows !== rows || header.cols !== cols) {
    throw new RgcError(
      `${stream.what} is a ${header.components}-component JPEG of ${header.cols}x${header.rows}; ` +
        `the container needs 1 component of ${cols}x${rows}`,
      stream.offset,
    );
  }
  if (rows * cols > MAX_STREAM_PIXELS) {
    throw new RgcError(
      `${stream.what} is ${cols}x${rows} = ${rows * cols} pixels; a JPEG stream holds at most ${MAX_STREAM_PIXELS} (§12)`,
      stream.offset,
    );
  }
  const blocks = Math.ceil(rows / 8) * Math.ceil(cols / 8);
  if (stream.data.length * 8 < blocks) {
    throw new RgcError(
      `${stream.what} is ${stream.data.length} bytes, too few for the ${blocks} 8x8 blocks of a ${cols}x${rows} ` +
        'JPEG (at least a bit each, §7.2)',
      stream.offset,
    );
  }
  if (!hasEoiAfter(stream.data, firstScan(stream))) {
    throw new RgcError(`${stream.what} has no EOI marker after its first scan: it is cut short (§7.7)`, stream.offset);
  }
}

/** Where a stream's first scan's entropy-coded data starts: past its SOS segment, walking the segments before it. */
function firstScan(stream) {
  for (const [marker, at, length] of segments(stream.data, stream.what, stream.offset, TABLE_WALK, 'before its first scan')) {
    if (marker === SOS) return at + 2 + length;
  }
  throw new RgcError(`${stream.what} has no scan`, stream.offset);
}

/**
 * Whether data holds an EOI marker (0xFF 0xD9) from start on: entropy-coded data never does (§7.2). Searched from
 * the end, where a stream's EOI usually is: the last one is at or past start if any is.
 */
function hasEoiAfter(data, start) {
  for (let at = data.lastIndexOf(0xd9); at > start; at = data.lastIndexOf(0xd9, at - 1)) {
    if (data[at - 1] === 0xff) return true;
  }
  return false;
}

/**
 * The stream without the APPn and COM segments before its first scan: they carry no samples (§7.2), and removing
 * them keeps a browser from rotating the samples by an EXIF orientation or converting them by an ICC profile,
 * wherever they stand (T.81 lets them come between the frame header and the scan too).
 */
function bareJpeg(stream) {
  const data = stream.data;
  const kept = [data.subarray(0, 2)];
  let rest = 2; // where the part not yet walked starts: the first scan, or what the browser is left to refuse
  for (const [marker, at, length] of segments(data, stream.what, stream.offset, TABLE_WALK, 'before its first scan')) {
    rest = at;
    if (marker === SOS) break;
    if (!APP_AND_COM.has(marker)) kept.push(data.subarray(at, at + 2 + length));
    rest = at + 2 + length;
  }
  kept.push(data.subarray(rest));
  const out = new Uint8Array(kept.reduce((size, part) => size + part.length, 0));
  let at = 0;
  for (const part of kept) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// ---------------------------------------------------------------- §11.8: a stream's quantisation table

const DQT = 0xdb; // T.81 B.1.1.3: define quantisation tables
const SOS = 0xda; // and start of scan
const TABLE_WALK = new Set([...BEFORE_FRAME, ...SOF_HUFFMAN, SOS]); // what the walk to the first scan may meet
// T.81 B.2.4.1: DQT segments list a table's steps in zigzag order; ZIGZAG[k] is the natural place of the k-th
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
];
const MAX_STRENGTH = 255; // §11.8: S is capped, so that 16-bit tables overflow nothing

/**
 * The quantisation table (64 steps, natural order) of a one-component JPEG stream's component (§11.8): table Tq
 * of its frame header, as the last DQT segment defining it before the first SOS leaves it. The segments are walked
 * by their lengths, as §7.2 walks them, and only those of §7.2 may stand between the frame header and the first
 * SOS; RgcError where the walk fails or the table is never defined (§11.1 step 5, before anything is decoded).
 */
export function streamTable(data, what, offset) {
  const tables = new Map();
  let wanted = null;
  for (const [marker, at, length] of segments(data, what, offset, TABLE_WALK, 'before its first scan')) {
    if (marker === SOS) {
      if (wanted === null || !tables.has(wanted)) break;
      return tables.get(wanted);
    }
    if (marker === DQT) readTables(data, at + 4, at + 2 + length, tables, what, offset);
    else if (SOF_HUFFMAN.has(marker)) {
      if (wanted !== null) throw new RgcError(`${what} has a second frame header before its first scan`, offset);
      if (length - 2 < 9) break;
      wanted = data[at + 4 + 8]; // the component's Tq (T.81 B.2.2: its third byte), the whole byte as libjpeg reads it
    }
  }
  throw new RgcError(`${what} does not define the quantisation table of its component before its first scan`, offset);
}

/** The tables of a DQT segment's data (data[start, end)) into tables by Tq (T.81 B.2.4.1: Pq Tq, 64 steps each). */
function readTables(data, start, end, tables, what, offset) {
  for (let at = start; at < end; ) {
    const precision = data[at] >> 4;
    const index = data[at] & 0x0f;
    const size = 64 * (precision ? 2 : 1);
    if (precision > 1 || at + 1 + size > end) throw new RgcError(`${what} has a damaged DQT segment`, offset);
    const table = new Int32Array(64);
    for (let k = 0; k < 64; k++) table[ZIGZAG[k]] = precision ? u16(data, at + 1 + 2 * k) : data[at + 1 + k];
    tables.set(index, table);
    at += 1 + size;
  }
}

/** §11.8: a block's strength S from its table (natural order): the mean of T[0][1] and T[1][0], halves up, capped. */
export function strength(table) {
  return Math.min(MAX_STRENGTH, (table[1] + table[8] + 1) >> 1);
}

// ---------------------------------------------------------------- §7.5: canvas headers

/**
 * {width, height} of a WebP canvas from its RIFF header (§7.5), refusing alpha and animation; decodes nothing.
 */
export function webpSize(data, what, offset) {
  const bad = (why) => new RgcError(`${what} is not a readable WEBP picture: ${why}`, offset);
  if (data.length < 20 || ascii(data, 0, 4) !== 'RIFF' || ascii(data, 8, 4) !== 'WEBP') {
    throw bad('no RIFF WEBP header');
  }
  const type = ascii(data, 12, 4);
  const size = le32(data, 16);
  const body = 20;
  if (body + size > data.length) throw bad(`its ${type} chunk runs past the end`);
  if (type === 'VP8X') {
    if (size < 10) throw bad('VP8X chunk too short');
    const flags = data[body];
    if (flags & 0x02) throw new RgcError(`${what} is an animated WEBP; a canvas is one still picture`, offset);
    if (flags & 0x10 || hasAlphChunk(data, body + size + (size & 1))) {
      throw new RgcError(`${what} has alpha; a canvas has none (alpha lives in ALPH)`, offset);
    }
    return { width: le24(data, body + 4) + 1, height: le24(data, body + 7) + 1 };
  }
  if (type === 'VP8 ') {
    if (size < 10 || data[body] & 1) throw bad('VP8 chunk is not a key frame');
    if (data[body + 3] !== 0x9d || data[body + 4] !== 0x01 || data[body + 5] !== 0x2a) throw bad('no VP8 start code');
    return { width: le16(data, body + 6) & 0x3fff, height: le16(data, body + 8) & 0x3fff };
  }
  if (type === 'VP8L') {
    if (size < 5 || data[body] !== 0x2f) throw bad('no VP8L signature');
    const bits = le32(data, body + 1);
    if ((bits >>> 28) & 1) throw new RgcError(`${what} has alpha; a canvas has none (alpha lives in ALPH)`, offset);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  throw bad(`unknown first chunk ${JSON.stringify(type)}`);
}

/**
 * Whether an extended WebP's chunks from at on hold an ALPH chunk before its image data: libwebp decodes such a
 * picture with alpha whatever VP8X's flag says, so it counts as alpha (§7.5).
 */
function hasAlphChunk(data, at) {
  while (at + 8 <= data.length) {
    const type = ascii(data, at, 4);
    if (type === 'ALPH') return true;
    if (type === 'VP8 ' || type === 'VP8L') return false;
    const size = le32(data, at + 4);
    at += 8 + size + (size & 1);
  }
  return false;
}

/**
 * The boxes of an ISOBMFF span: [{type, start (of the payload), end}], sizes checked against the span. Leniently
 * (the file's top level, where AVIF readers look only for what they need), a box that runs past the end ends
 * the list instead.
 */
function isoBoxes(data, start, end, bad, lenient = false) {
  const boxes = [];
  for (let at = start; at < end; ) {
    if (at + 8 > end) {
      if (lenient) break;
      throw bad(`box header at byte ${at} is cut off`);
    }
    let size = u32(data, at);
    const type = ascii(data, at + 4, 4);
    let payload = at + 8;
    if (size === 1) {
      if (at + 16 > end) throw bad(`box header at byte ${at} is cut off`);
      size = u32(data, at + 8) * 2 ** 32 + u32(data, at + 12);
      payload = at + 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < payload - at || at + size > end) {
      if (lenient) break;
      throw bad(`${type} box at byte ${at} runs past its end`);
    }
    boxes.push({ type, start: payload, end: at + size });
    at += size;
  }
  return boxes;
}

const TRANSFORMS = ['clap', 'imir', 'irot']; // ISO/IEC 23008-12: clean aperture, mirroring, rotation (§7.5)

/**
 * {width, height} of an AVIF canvas from the 'ispe' property of its primary item (§7.5), refusing image
 * sequences and alpha auxiliary images; decodes nothing.
 */
export function avifSize(data, what, offset) {
  const bad = (why) => new RgcError(`${what} is not a readable AVIF picture: ${why}`, offset);
  const top = isoBoxes(data, 0, data.length, bad, true);
  const ftyp = top[0]?.type === 'ftyp' ? top[0] : null;
  if (!ftyp || ftyp.end - ftyp.start < 8) throw bad('no ftyp box');
  const brands = [];
  for (let at = ftyp.start; at + 4 <= ftyp.end; at += at === ftyp.start ? 8 : 4) brands.push(ascii(data, at, 4));
  if (!['avif', 'avis', 'mif1', 'msf1'].includes(brands[0])) throw bad(`its major brand is ${JSON.stringify(brands[0])}`);
  if (!brands.includes('avif')) throw bad("its ftyp box names no 'avif' brand");
  if (brands[0] === 'avis' || top.some((b) => b.type === 'moov')) {
    throw new RgcError(`${what} is an AVIF image sequence; a canvas is one still picture`, offset);
  }
  const meta = top.find((b) => b.type === 'meta');
  if (!meta) throw bad('no meta box');
  const inMeta = isoBoxes(data, meta.start + 4, meta.end, bad);
  const pitm = inMeta.find((b) => b.type === 'pitm');
  const iprp = inMeta.find((b) => b.type === 'iprp');
  if (!pitm || !iprp) throw bad('no primary item or no item properties');
  const primary = data[pitm.start] === 0 ? u16(data, pitm.start + 4) : u32(data, pitm.start + 4);
  const inIprp = isoBoxes(data, iprp.start, iprp.end, bad);
  const ipco = inIprp.find((b) => b.type === 'ipco');
  if (!ipco) throw bad('no ipco box');
  const properties = isoBoxes(data, ipco.start, ipco.end, bad);
  for (const p of properties) {
    if (p.type === 'auxC' && /alpha|auxid:1\0/.test(ascii(data, p.start + 4, Math.min(64, p.end - p.start - 4)))) {
      throw new RgcError(`${what} has an alpha image; a canvas has none (alpha lives in ALPH)`, offset);
    }
  }
  const transforms = [...new Set(properties.map((p) => p.type).filter((type) => TRANSFORMS.includes(type)))].sort();
  if (transforms.length) {
    throw new RgcError(`${what} has ${transforms.join(', ')} properties; a canvas is its samples as stored, untransformed`, offset);
  }
  for (const ipma of inIprp.filter((b) => b.type === 'ipma')) {
    const version = data[ipma.start];
    const wide = data[ipma.start + 3] & 1;
    let at = ipma.start + 4;
    const entries = u32(data, at);
    at += 4;
    for (let e = 0; e < entries && at < ipma.end; e++) {
      const item = version < 1 ? u16(data, at) : u32(data, at);
      at += version < 1 ? 2 : 4;
      const count = data[at++];
      for (let k = 0; k < count; k++, at += wide ? 2 : 1) {
        const index = (wide ? u16(data, at) & 0x7fff : data[at] & 0x7f) - 1;
        const p = properties[index];
        if (item === primary && p && p.type === 'ispe' && p.end - p.start >= 12) {
          return { width: u32(data, p.start + 4), height: u32(data, p.start + 8) };
        }
      }
    }
  }
  throw bad('its primary item has no ispe (size) property');
}

// ---------------------------------------------------------------- the browser's stream decoders

let scratch = null; // one canvas reused to read decoded pictures back

/** A 2D context of a canvas of at least width x height that reads back fast (software, willReadFrequently). */
function scratchContext(width, height) {
  if (!scratch || scratch.canvas.width < width || scratch.canvas.height < height) {
    const w = Math.max(width, scratch?.canvas.width ?? 0);
    const h = Math.max(height, scratch?.canvas.height ?? 0);
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h) : makeCanvas(w, h);
    scratch = canvas.getContext('2d', { willReadFrequently: true, alpha: true });
  }
  return scratch;
}

/** A DOM canvas, where OffscreenCanvas is missing. */
function makeCanvas(width, height) {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

/**
 * The browser's decode of a picture (JPEG, WebP, AVIF) of exactly width x height, its samples as stored:
 * no colour management, no premultiplication. Decoding failures become an RgcError.
 */
async function browserDecode(bytes, type, width, height, what, offset) {
  let bitmap;
  try {
    const blob = new Blob([bytes], { type });
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch (error) {
    throw new RgcError(`${what} is not a readable ${type.slice(6).toUpperCase()} (${error.message})`, offset);
  }
  if (bitmap.width !== width || bitmap.height !== height) {
    const size = `${bitmap.width}x${bitmap.height}`; // read before close(), after which a bitmap is 0x0
    bitmap.close();
    throw new RgcError(`${what} decoded to ${size}, not ${width}x${height}`, offset);
  }
  return bitmap;
}

/**
 * The samples of a decoded picture, read back in tiles: channels 1 takes the first (a greyscale JPEG's
 * samples, which the browser repeats in R, G and B), 3 takes R, G and B.
 */
function readBitmap(bitmap, channels) {
  const { width, height } = bitmap;
  const out = new Uint8Array(width * height * channels);
  const tw = Math.min(width, TILE_SIDE);
  const th = Math.max(1, Math.min(height, TILE_SIDE, Math.floor(TILE_PIXELS / tw)));
  const ctx = scratchContext(tw, th);
  for (let top = 0; top < height; top += th) {
    for (let left = 0; left < width; left += tw) {
      const w = Math.min(tw, width - left);
      const h = Math.min(th, height - top);
      ctx.clearRect(0, 0, w, h);
      ctx.drawImage(bitmap, left, top, w, h, 0, 0, w, h);
      const rgba = new Uint32Array(ctx.getImageData(0, 0, w, h).data.buffer);
      if (channels === 1) {
        for (let y = 0; y < h; y++) {
          const o = (top + y) * width + left;
          const i = y * w;
          for (let x = 0; x < w; x++) out[o + x] = rgba[i + x] & 0xff; // little-endian: R is the low byte
        }
      } else {
        const bytes = new Uint8Array(rgba.buffer);
        for (let y = 0; y < h; y++) {
          let o = ((top + y) * width + left) * 3;
          let i = y * w * 4;
          for (let x = 0; x < w; x++, i += 4, o += 3) {
            out[o] = bytes[i];
            out[o + 1] = bytes[i + 1];
            out[o + 2] = bytes[i + 2];
          }
        }
      }
    }
  }
  bitmap.close();
  return out;
}

/** Whether this browser has WebCodecs' ImageDecoder, whose frames copy out faster than a canvas reads back. */
const HAS_IMAGE_DECODER = typeof ImageDecoder !== 'undefined';

/**
 * A greyscale JPEG stream decoded by the browser (§11.1) to rows x cols samples: {data, start, step, stride},
 * sample (r, c) at data[start + r * stride + c * step].
 */
async function decodeJpeg(stream, rows, cols, useImageDecoder) {
  const bytes = bareJpeg(stream);
  if (useImageDecoder) return imageDecoderSamples(bytes, rows, cols, stream.what, stream.offset);
  const bitmap = await browserDecode(bytes, 'image/jpeg', cols, rows, stream.what, stream.offset);
  return { data: readBitmap(bitmap, 1), start: 0, step: 1, stride: cols };
}

/**
 * A greyscale JPEG decoded by WebCodecs' ImageDecoder, its frame copied out as it is: from an RGB format
 * (Chromium gives BGRX, the grey sample in every colour byte) or the luma plane of a YUV one.
 */
async function imageDecoderSamples(bytes, rows, cols, what, offset) {
  let decoder;
  let frame;
  try {
    decoder = new ImageDecoder({ data: bytes, type: 'image/jpeg', colorSpaceConversion: 'none' });
    frame = (await decoder.decode({ frameIndex: 0, completeFramesOnly: true })).image;
    const rect = frame.visibleRect;
    if (rect.width !== cols || rect.height !== rows) {
      throw new RgcError(`${what} decoded to ${rect.width}x${rect.height}, not ${cols}x${rows}`, offset);
    }
    const data = new Uint8Array(frame.allocationSize());
    const [plane] = await frame.copyTo(data);
    const yuv = /^(I4|NV)/.test(frame.format);
    const step = yuv ? 1 : 4;
    return { data, start: plane.offset + rect.y * plane.stride + rect.x * step, step, stride: plane.stride };
  } catch (error) {
    if (error instanceof RgcError) throw error;
    throw new RgcError(`${what} is not a readable JPEG (${error.message})`, offset);
  } finally {
    frame?.close();
    decoder?.close();
  }
}

// ---------------------------------------------------------------- §11.2-§11.4: planes (JPEG layers)

/** Each region's blocks, as indices into the block map in raster order. */
function regionBlocks(map, counts) {
  const lists = Array.from(counts, (n) => new Int32Array(n));
  const filled = new Int32Array(counts.length);
  for (let i = 0; i < map.length; i++) lists[map[i]][filled[map[i]]++] = i;
  return lists;
}

/**
 * A plane of rows x cols samples, every one 128 (§11.2). The value shows only where §11.4 reduces blocks not yet
 * written, so without scaled layers the filling is skipped: every block is written before it is read.
 */
function plane(rows, cols, fill = true) {
  const data = new Uint8Array(rows * cols);
  return { rows, cols, data: fill ? data.fill(128) : data };
}

/**
 * §11.3: block i of a mosaic (cell x cell samples, mosaic cells in raster order) to the i-th block of the region
 * in the plane; spare cells are not copied. The mosaic is decoded samples {data, start, step, stride}; top is
 * the first row of the part copied: 0, or the Cr half of a chroma mosaic.
 */
function scatter(samples, mosaicCols, top, blocks, gridCols, cell, target) {
  const { data, start, step, stride } = samples;
  const aligned = (data.byteOffset | start | stride | target.data.byteOffset | target.cols | cell) % 4 === 0;
  if (step === 4 && aligned) return scatterWords(samples, mosaicCols, top, blocks, gridCols, cell, target);
  const pw = target.cols;
  const out = target.data;
  for (let i = 0; i < blocks.length; i++) {
    const src = start + (top + Math.floor(i / mosaicCols) * cell) * stride + (i % mosaicCols) * cell * step;
    const block = blocks[i];
    const dst = Math.floor(block / gridCols) * cell * pw + (block % gridCols) * cell;
    for (let y = 0; y < cell; y++) {
      const d = dst + y * pw;
      for (let x = 0, s = src + y * stride; x < cell; x++, s += step) out[d + x] = data[s];
    }
  }
}

/**
 * scatter() for samples four bytes apart (a grey JPEG decoded to BGRX or RGBX) and cells of a multiple of four:
 * the same copy, four samples to a 32-bit word.
 */
function scatterWords(samples, mosaicCols, top, blocks, gridCols, cell, target) {
  const { data, start, stride } = samples;
  const src = new Uint32Array(data.buffer, data.byteOffset, data.byteLength >> 2);
  const out = new Uint32Array(target.data.buffer, target.data.byteOffset, target.data.length >> 2);
  const sw = stride >> 2;
  const pw = target.cols >> 2;
  const words = cell >> 2;
  for (let i = 0; i < blocks.length; i++) {
    const first = (start >> 2) + (top + Math.floor(i / mosaicCols) * cell) * sw + (i % mosaicCols) * cell;
    const block = blocks[i];
    const dst = Math.floor(block / gridCols) * cell * pw + (block % gridCols) * words;
    for (let y = 0; y < cell; y++) {
      const d = dst + y * pw;
      for (let x = 0, s = first + y * sw; x < words; x++, s += 4) {
        out[d + x] = (src[s] & 255) | ((src[s + 1] & 255) << 8) | ((src[s + 2] & 255) << 16) | (src[s + 3] << 24);
      }
    }
  }
}

/** §11.3 for one decoded stream of a layer: the luma mosaic into Y, or the chroma mosaic's halves into Cb and Cr. */
function scatterStream(job, samples, planes, head, blocks) {
  const b = head.blockSize / job.layer.scale;
  const [mr, mc] = mosaicShape(job.layer.blocks, head.cols);
  const list = blocks[job.layer.region];
  if (job.k === 0) {
    scatter(samples, mc, 0, list, head.cols, b, planes[0]);
  } else {
    scatter(samples, mc, 0, list, head.cols, b / 2, planes[1]);
    scatter(samples, mc, (mr * b) / 2, list, head.cols, b / 2, planes[2]);
  }
}

/** §11.4 step 1: the plane reduced by s, each sample the rounded mean of an s x s square (halves up). */
export function reduce(source, s) {
  const rows = source.rows / s;
  const cols = source.cols / s;
  const out = new Uint8Array(rows * cols);
  const shift = Math.log2(s * s);
  const bias = (s * s) >> 1;
  const src = source.data;
  const w = source.cols;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = bias;
      for (let a = 0; a < s; a++) {
        const row = (s * i + a) * w + s * j;
        for (let c = 0; c < s; c++) sum += src[row + c];
      }
      out[i * cols + j] = sum >> shift;
    }
  }
  return { rows, cols, data: out };
}

/**
 * Per output index 0..n-1 of an enlargement by s of a line of `size` samples (§11.4): the sample it sits on,
 * its neighbour, and their weights in units of 1/(2s), edges repeated.
 */
function enlargeTaps(n, s, size) {
  const own = new Int32Array(n);
  const other = new Int32Array(n);
  const near = new Int32Array(n);
  const far = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    const i = Math.floor(t / s);
    const d = 2 * (t - i * s) + 1 - s;
    own[t] = i;
    other[t] = Math.min(Math.max(d < 0 ? i - 1 : i + 1, 0), size - 1);
    near[t] = 2 * s - Math.abs(d);
    far[t] = Math.abs(d);
  }
  return { own, other, near, far };
}

/**
 * §11.4 "Enlarging by s", and §11.7 for canvases: output rows top..top+rows-1 and columns left..left+cols-1 of
 * source (sw samples a row, `step` interleaved channels, channel `channel`) enlarged by s with the triangle
 * filter, one rounding after both directions, written to out at (outIndex + r * outStride + c * outStep). The
 * taps of every output row and column are made beforehand (enlargeTaps), so one set serves every block of a plane.
 */
function enlarge(taps, top, left, src, sw, s, rows, cols, out, outIndex, outStride, step = 1, channel = 0, outStep = 1) {
  const shift = Math.log2(4 * s * s);
  const bias = 2 * s * s;
  const { rows: r, cols: c } = taps;
  for (let y = 0; y < rows; y++) {
    const a = r.own[top + y] * sw;
    const b = r.other[top + y] * sw;
    const na = r.near[top + y];
    const fb = r.far[top + y];
    let o = outIndex + y * outStride;
    for (let x = left; x < left + cols; x++, o += outStep) {
      const j0 = c.own[x] * step + channel;
      const j1 = c.other[x] * step + channel;
      const v0 = na * src[a * step + j0] + fb * src[b * step + j0];
      const v1 = na * src[a * step + j1] + fb * src[b * step + j1];
      out[o] = (c.near[x] * v0 + c.far[x] * v1 + bias) >> shift;
    }
  }
}

/** §11.4 step 3: a region's blocks (cell x cell in the full plane) taken from the reduced plane enlarged by s. */
function enlargeBlocks(reduced, s, blocks, gridCols, cell, target) {
  const taps = { rows: enlargeTaps(target.rows, s, reduced.rows), cols: enlargeTaps(target.cols, s, reduced.cols) };
  for (let i = 0; i < blocks.length; i++) {
    const top = Math.floor(blocks[i] / gridCols) * cell;
    const left = (blocks[i] % gridCols) * cell;
    enlarge(taps, top, left, reduced.data, reduced.cols, s, cell, cell, target.data, top * target.cols + left, target.cols);
  }
}

/**
 * §11.4: the layers of scales 2 and 4, once every layer of scale 1 is in the planes: for each scale in rising
 * order, the planes reduced, its layers' streams scattered into them, and their blocks enlarged back.
 */
function placeScaledLayers(head, decoded, planes, blocks) {
  const scales = [...new Set(decoded.map(({ job }) => job.layer.scale))].sort((a, b) => a - b);
  for (const s of scales) {
    const reduced = planes.map((p) => reduce(p, s));
    const same = decoded.filter(({ job }) => job.layer.scale === s);
    for (const { job, samples } of same) scatterStream(job, samples, reduced, head, blocks);
    for (const layer of new Set(same.map(({ job }) => job.layer))) {
      const B = head.blockSize;
      planes.forEach((p, k) => enlargeBlocks(reduced[k], s, blocks[layer.region], head.cols, k ? B / 2 : B, p));
    }
  }
}

// ---------------------------------------------------------------- §11.8: deblocking

const GRID = 8; // §11.8: the filter works on each plane's own 8x8 DCT blocks
const MAX_ALPHA = 120; // §11.8: alpha's cap
const SKIP_BELOW = 24; // §11.8: where A·Q < 24, alpha <= 2 and every correction rounds to 0

/**
 * §11.8: S of each region's luma and chroma streams, [luma, chroma] indexed by region, read from the tables of the
 * JPEG streams of scale 1 (0 for canvases and scaled layers): every table is read before anything is decoded.
 */
function regionStrengths(jobs) {
  const strengths = [new Uint8Array(256), new Uint8Array(256)]; // block map entries are bytes (§6)
  for (const { layer, k, stream } of jobs) {
    if (layer.codec === 'jpeg' && layer.scale === 1) {
      strengths[k][layer.region] = strength(streamTable(stream.data, stream.what, stream.offset));
    }
  }
  return strengths;
}

/**
 * §11.8: S of each 8x8 block of a plane whose map blocks are cell 8x8 blocks a side, and 1 in inside where the block
 * is in the last region (no edge between two such blocks is filtered): {rows, cols, data, inside}.
 */
function strengthGrid(head, map, perRegion, cell) {
  const rows = head.rows * cell;
  const cols = head.cols * cell;
  const data = new Uint8Array(rows * cols);
  const inside = new Uint8Array(rows * cols);
  const last = head.regions - 1;
  for (let r = 0; r < rows; r++) {
    const mapRow = Math.floor(r / cell) * head.cols;
    for (let c = 0; c < cols; c++) {
      const region = map[mapRow + Math.floor(c / cell)];
      data[r * cols + c] = perRegion[region];
      inside[r * cols + c] = region === last ? 1 : 0;
    }
  }
  return { rows, cols, data, inside };
}

/** §11.8: a plane's alpha and beta for each edge strength Q = 0..255, given the DBLK chunk's A and B. */
function thresholds(a, b) {
  const alpha = new Int32Array(MAX_STRENGTH + 1);
  const beta = new Int32Array(MAX_STRENGTH + 1);
  for (let q = 0; q <= MAX_STRENGTH; q++) {
    alpha[q] = Math.min((a * q) >> 3, MAX_ALPHA);
    beta[q] = (b * q) >> 4;
  }
  return { alpha, beta };
}

/**
 * §11.8, one line: the samples p3 p2 p1 p0 | q0 q1 q2 q3 at data[at - 4·step] .. data[at + 3·step], filtered in
 * place when the step across the edge is within alpha and both sides are flat within beta. data is a
 * Uint8ClampedArray, so storing clamps as §11.8 does; >> floors, as §11 says.
 */
function filterLine(data, at, step, alpha, beta) {
  const p0 = data[at - step];
  const q0 = data[at];
  const p1 = data[at - 2 * step];
  const q1 = data[at + step];
  const d2 = 3 * (q0 - p0) - (q1 - p1);
  if (d2 > alpha || -d2 > alpha) return;
  const p2 = data[at - 3 * step];
  const p3 = data[at - 4 * step];
  if (Math.abs(p0 - p1) + Math.abs(p1 - p2) + Math.abs(p2 - p3) > beta) return;
  const q2 = data[at + 2 * step];
  const q3 = data[at + 3 * step];
  if (Math.abs(q0 - q1) + Math.abs(q1 - q2) + Math.abs(q2 - q3) > beta) return;
  const c0 = (7 * d2 + 16) >> 5; // c_k = (d2 (7 - 2k) + 16) >> 5, all from the samples before any changes
  const c1 = (5 * d2 + 16) >> 5;
  const c2 = (3 * d2 + 16) >> 5;
  const c3 = (d2 + 16) >> 5;
  data[at - step] = p0 + c0;
  data[at] = q0 - c0;
  data[at - 2 * step] = p1 + c1;
  data[at + step] = q1 - c1;
  data[at - 3 * step] = p2 + c2;
  data[at + 2 * step] = q2 - c2;
  data[at - 4 * step] = p3 + c3;
  data[at + 3 * step] = q3 - c3;
}

/**
 * §11.8 on one plane, in place: every vertical edge (x = 8j, every row), then every horizontal edge (y = 8i, every
 * column) of the first pass's result. grid holds S of each 8x8 block, and inside 1 for those of the last region:
 * an edge between two of them, or whose alpha is 2 or less (no sample of it could change), is skipped. The
 * readable version; kernels/deblock.wat runs the same arithmetic in SIMD.
 */
function deblockPlane(plane, grid, a, b) {
  const { cols, data } = plane;
  const samples = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  const { alpha, beta } = thresholds(a, b);
  const S = grid.data;
  const inside = grid.inside;
  for (let i = 0; i < grid.rows; i++) {
    for (let j = 1; j < grid.cols; j++) {
      if (inside[i * grid.cols + j - 1] & inside[i * grid.cols + j]) continue;
      const q = (S[i * grid.cols + j - 1] + S[i * grid.cols + j] + 1) >> 1;
      if (a * q < SKIP_BELOW) continue;
      for (let y = GRID * i; y < GRID * (i + 1); y++) filterLine(samples, y * cols + GRID * j, 1, alpha[q], beta[q]);
    }
  }
  for (let i = 1; i < grid.rows; i++) {
    for (let j = 0; j < grid.cols; j++) {
      if (inside[(i - 1) * grid.cols + j] & inside[i * grid.cols + j]) continue;
      const q = (S[(i - 1) * grid.cols + j] + S[i * grid.cols + j] + 1) >> 1;
      if (a * q < SKIP_BELOW) continue;
      const row = GRID * i * cols;
      for (let x = GRID * j; x < GRID * (j + 1); x++) filterLine(samples, row + x, cols, alpha[q], beta[q]);
    }
  }
}

/**
 * §11.8 over the planes: each 8x8 block's strength from its region's stream, then Y filtered with the luma
 * strengths, Cb and Cr each with the chroma ones, by filterPlane (deblockPlane, or the workspace's kernel).
 */
function deblock(head, map, planes, strengths, { a, b }, filterPlane = deblockPlane) {
  const cell = head.blockSize / GRID;
  const grids = [strengthGrid(head, map, strengths[0], cell)];
  if (planes.length === 3) grids.push(strengthGrid(head, map, strengths[1], cell / 2));
  planes.forEach((p, k) => filterPlane(p, grids[Math.min(k, 1)], a, b, k));
}

// ---------------------------------------------------------------- §11.5, §11.6: chroma and colour

/** §11.6 in lookup tables: the Cr term of R, the Cb term of B, and G's two terms before their one shift. */
const COLOUR = (() => {
  const rCr = new Int32Array(256);
  const bCb = new Int32Array(256);
  const gCb = new Int32Array(256);
  const gCr = new Int32Array(256);
  for (let v = 0; v < 256; v++) {
    rCr[v] = (22987 * (v - 128) + 8192) >> 14;
    bCb[v] = (29049 * (v - 128) + 8192) >> 14;
    gCb[v] = -5636 * (v - 128);
    gCr[v] = -11698 * (v - 128) + 8192;
  }
  return { rCr, bCb, gCb, gCr };
})();

/**
 * §11.5's first step for output row y: each chroma column's 3·c[i] + c[i ± 1] (rows -1 and h repeat the edges),
 * into v.
 */
function upsampleColumns(chroma, y, v) {
  const { rows, cols, data } = chroma;
  const i = y >> 1;
  const n = y & 1 ? Math.min(i + 1, rows - 1) : Math.max(i - 1, 0);
  const a = i * cols;
  const b = n * cols;
  for (let j = 0; j < cols; j++) v[j] = 3 * data[a + j] + data[b + j];
}

/**
 * §11.5's second step for one output row: out[2j] = (3·v[j] + v[j-1] + 8) >> 4 and
 * out[2j+1] = (3·v[j] + v[j+1] + 7) >> 4, columns -1 and w repeating the edges, for the first `width` samples.
 */
function upsampleRow(v, cols, width, out) {
  for (let x = 0; x < width; x++) {
    const j = x >> 1;
    out[x] = x & 1 ? (3 * v[j] + v[j + 1 < cols ? j + 1 : j] + 7) >> 4 : (3 * v[j] + v[j > 0 ? j - 1 : 0] + 8) >> 4;
  }
}

/**
 * §11.5 and §11.6 over the cropped image: the chroma planes upsampled row by row and every pixel converted from
 * YCbCr to RGB, written to out as RGBA (alpha 255).
 */
function planesToRgba(planes, width, height, out) {
  if (planes.length === 1) return planeToGrey(planes[0], width, height, out);
  const [Y, Cb, Cr] = planes;
  const vb = new Int32Array(Cb.cols);
  const vr = new Int32Array(Cr.cols);
  const cb = new Uint8Array(width);
  const cr = new Uint8Array(width);
  const { rCr, bCb, gCb, gCr } = COLOUR;
  for (let y = 0; y < height; y++) {
    upsampleColumns(Cb, y, vb);
    upsampleColumns(Cr, y, vr);
    upsampleRow(vb, Cb.cols, width, cb);
    upsampleRow(vr, Cr.cols, width, cr);
    const row = y * Y.cols;
    let o = y * width * 4;
    for (let x = 0; x < width; x++, o += 4) {
      const l = Y.data[row + x];
      const u = cb[x];
      const w = cr[x];
      out[o] = l + rCr[w]; // out is a Uint8ClampedArray: storing clamps to 0..255
      out[o + 1] = l + ((gCb[u] + gCr[w]) >> 14);
      out[o + 2] = l + bCb[u];
      out[o + 3] = 255;
    }
  }
}

/** Modes 1 and 2: the luma plane cropped is the grey image, written to RGBA as R = G = B (alpha 255). */
function planeToGrey(Y, width, height, out) {
  const out32 = new Uint32Array(out.buffer, out.byteOffset, width * height);
  for (let y = 0; y < height; y++) {
    const row = y * Y.cols;
    const o = y * width;
    for (let x = 0; x < width; x++) out32[o + x] = (Y.data[row + x] * 0x010101) | 0xff000000; // little-endian RGBA
  }
}

// ---------------------------------------------------------------- the SIMD kernels and the planes' memory

const KERNELS = { colour: COLOUR_WASM, deblock: DEBLOCK_WASM }; // kernels/NAME.wat, assembled
const compiled = {}; // name -> the compiled kernel (a promise), or null where WebAssembly SIMD is missing

/** The compiled WebAssembly kernel NAME (colour: §11.5-§11.6; deblock: §11.8), or null where it cannot run. */
function compiledKernel(name) {
  if (!(name in compiled)) {
    const bytes = Uint8Array.from(atob(KERNELS[name]), (c) => c.charCodeAt(0));
    const usable = typeof WebAssembly === 'object' && WebAssembly.validate(bytes);
    compiled[name] = usable ? WebAssembly.compile(bytes).catch(() => null) : null;
  }
  return compiled[name];
}

/** The kernels the planes of a file use, {colour, deblock}, each a module or null (all null with kernels: false). */
async function planeKernels(head, deblocking, options) {
  if (options.kernels === false) return { colour: null, deblock: null };
  const colour = head.colour === 'RGB' ? compiledKernel('colour') : null;
  const [c, d] = await Promise.all([colour, deblocking ? compiledKernel('deblock') : null]);
  return { colour: c, deblock: d };
}

const KERNEL_BAND = 32; // rows of the image converted per call of the colour kernel (see colour.wat)
const DEBLOCK_BAND = 4; // rows of 8x8 blocks deblocked per call of the deblock kernel (see deblock.wat)
const align = (n) => (n + 63) & ~63;

/**
 * The planes of §11.2 (filled with 128 where scaled layers will read them) and the RGBA image they become:
 * {planes, out, filterPlane(plane, grid, a, b, k), toRgba()}. With a kernel, all live in one WebAssembly memory
 * (the image first, so out is a view of it, then the planes, then what the kernels work in); else in arrays, and
 * the plain JavaScript versions run.
 */
function workspace(head, kernels, fill) {
  const { rows, cols, blockSize: B, width, height } = head;
  const colour = head.colour === 'RGB';
  const sizes = [[rows * B, cols * B], ...(colour ? [[(rows * B) / 2, (cols * B) / 2], [(rows * B) / 2, (cols * B) / 2]] : [])];
  const bytes = width * height * 4;
  const colourKernel = colour ? kernels.colour : null;
  if (!colourKernel && !kernels.deblock) {
    const planes = sizes.map(([r, c]) => plane(r, c, fill));
    const out = new Uint8ClampedArray(bytes);
    return { planes, out, filterPlane: deblockPlane, toRgba: () => planesToRgba(planes, width, height, out) };
  }
  let at = align(bytes + 64); // the colour kernel writes up to 15 pixels past a row
  const offsets = sizes.map(([r, c]) => [at, (at = align(at + r * c + 16))][0]); // and reads 16 bytes past one
  const scratch = align(((cols * B) / 2 + 32) * 2);
  const [vb, vr] = [at, at + scratch];
  at += 2 * scratch;
  // S of each 8x8 block, then whether it is in the last region
  const grids = sizes.map(([r, c]) => [at, (at = align(at + 2 * (r / GRID) * (c / GRID)))][0]);
  let memory;
  try {
    memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) });
  } catch {
    return workspace(head, {}, fill); // no room for one memory this large: plain arrays
  }
  const exports = (module) => (module ? new WebAssembly.Instance(module, { env: { memory } }).exports : {});
  const { rgba } = exports(colourKernel);
  const { deblock: filter } = exports(kernels.deblock);
  const planes = sizes.map(([r, c], k) => {
    const data = new Uint8Array(memory.buffer, offsets[k], r * c);
    return { rows: r, cols: c, data: fill ? data.fill(128) : data };
  });
  const out = new Uint8ClampedArray(memory.buffer, 0, bytes);
  const [Y, Cb] = planes;
  const toRgba = () => {
    if (!rgba) return planesToRgba(planes, width, height, out);
    for (let y = 0; y < height; y += KERNEL_BAND) {
      rgba(offsets[0], Y.cols, offsets[1], offsets[2], Cb.cols, Cb.rows, width, y, Math.min(y + KERNEL_BAND, height), 0, vb, vr);
    }
  };
  const filterPlane = (p, grid, a, b, k) => {
    if (!filter) return deblockPlane(p, grid, a, b);
    const blocks = grid.data.length;
    new Uint8Array(memory.buffer, grids[k], blocks).set(grid.data);
    new Uint8Array(memory.buffer, grids[k] + blocks, blocks).set(grid.inside);
    for (let i = 0; i < grid.rows; i += DEBLOCK_BAND) {
      filter(offsets[k], p.cols, grids[k], blocks, grid.cols, i, Math.min(i + DEBLOCK_BAND, grid.rows), a, b);
    }
  };
  return { planes, out, filterPlane, toRgba };
}

/**
 * §11.8 on one plane of rows x cols samples (multiples of 8), S of each of its 8x8 blocks in strengths (row by row),
 * and 1 in inside (if given) for those of the last region: a filtered copy, by the SIMD kernel unless kernels is
 * false. For tests and tools: decode() filters its planes.
 */
export async function deblockSamples(samples, rows, cols, strengths, a, b, { kernels = true, inside = null } = {}) {
  const data = Uint8Array.from(strengths);
  const grid = { rows: rows / GRID, cols: cols / GRID, data, inside: inside ? Uint8Array.from(inside) : new Uint8Array(data.length) };
  const head = { rows: grid.rows, cols: grid.cols, blockSize: GRID, colour: 'L', width: cols, height: rows };
  const work = workspace(head, await planeKernels(head, true, { kernels }), false);
  work.planes[0].data.set(samples);
  work.filterPlane(work.planes[0], grid, a, b, 0);
  return work.planes[0].data.slice();
}

// ---------------------------------------------------------------- §7.5, §11.7, §11.9: canvases (WebP, AVIF)

/** Each region's bounding box in blocks, {r0, c0, r1, c1} inclusive, or null for a region with no blocks. */
function regionBoxes(head, map) {
  const boxes = Array.from({ length: head.regions }, () => null);
  for (let r = 0; r < head.rows; r++) {
    for (let c = 0; c < head.cols; c++) {
      const region = map[r * head.cols + c];
      const box = boxes[region];
      if (!box) boxes[region] = { r0: r, c0: c, r1: r, c1: c };
      else {
        box.r1 = r;
        if (c < box.c0) box.c0 = c;
        if (c > box.c1) box.c1 = c;
      }
    }
  }
  return boxes;
}

/** The box in pixels, clipped to the image, and its canvas's size at the layer's scale (§7.5, §7.6). */
function canvasGeometry(head, box, scale) {
  const B = head.blockSize;
  const top = box.r0 * B;
  const left = box.c0 * B;
  const h = Math.min((box.r1 + 1) * B, head.height) - top;
  const w = Math.min((box.c1 + 1) * B, head.width) - left;
  return { top, left, h, w, rows: Math.ceil(h / scale), cols: Math.ceil(w / scale) };
}

/** RgcError unless a canvas's header gives exactly its geometry's size (§7.5); decodes nothing. */
function checkCanvas(stream, codec, geometry) {
  const [maxSide, maxPixels] = CANVAS_LIMITS[codec];
  if (Math.max(geometry.rows, geometry.cols) > maxSide || geometry.rows * geometry.cols > maxPixels) {
    throw new RgcError(
      `${stream.what} must be ${geometry.cols}x${geometry.rows}, past the ${maxSide}-pixel side or the ` +
        `${maxPixels} pixels of ${codec.toUpperCase()} (§12)`,
      stream.offset,
    );
  }
  const { width, height } = codec === 'webp' ? webpSize(stream.data, stream.what, stream.offset) : avifSize(stream.data, stream.what, stream.offset);
  if (width !== geometry.cols || height !== geometry.rows) {
    throw new RgcError(
      `${stream.what} is a ${width}x${height} picture; the container needs ${geometry.cols}x${geometry.rows}`,
      stream.offset,
    );
  }
}

/**
 * §11.7: the box's h x w RGB picture from a decoded canvas: as it is at scale 1, else each channel enlarged by s
 * and its top-left h x w samples taken.
 */
function canvasPicture(rgb, geometry, s) {
  const { rows, cols, h, w } = geometry;
  if (s === 1) return rgb;
  const out = new Uint8Array(h * w * 3);
  const taps = { rows: enlargeTaps(h, s, rows), cols: enlargeTaps(w, s, cols) }; // the same for each channel
  for (let k = 0; k < 3; k++) enlarge(taps, 0, 0, rgb, cols, s, h, w, out, k, w * 3, 3, k, 3);
  return out;
}

/** §11.7: the region's own blocks of a box's RGB picture copied into the RGBA image (alpha 255). */
function pasteRegion(picture, geometry, blocks, head, image) {
  const { blockSize: B, cols: gridCols, width, height } = head;
  const { top, left, w } = geometry;
  for (let i = 0; i < blocks.length; i++) {
    const y0 = Math.floor(blocks[i] / gridCols) * B;
    const x0 = (blocks[i] % gridCols) * B;
    const y1 = Math.min(y0 + B, height);
    const x1 = Math.min(x0 + B, width);
    for (let y = y0; y < y1; y++) {
      let s = ((y - top) * w + (x0 - left)) * 3;
      let o = (y * width + x0) * 4;
      for (let x = x0; x < x1; x++, s += 3, o += 4) {
        image[o] = picture[s];
        image[o + 1] = picture[s + 1];
        image[o + 2] = picture[s + 2];
        image[o + 3] = 255;
      }
    }
  }
}

/** §11.7, modes 1 and 2: RGB to grey with libjpeg's luma weights in units of 2^-16, halves up. */
function rgbToGrey(r, g, b) {
  return (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
}

const CHROMA_BIAS = (128 << 18) + (1 << 17); // §11.9: 128 and a half, in units of 2^-18

/** §11.9: Cb of a 2x2 square from the sums of its R, G and B, T.871's factors in units of 2^-18, halves up. */
function squareCb(r, g, b) {
  const v = (-11059 * r - 21709 * g + 32768 * b + CHROMA_BIAS) >> 18;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** §11.9: Cr of a 2x2 square, as squareCb. */
function squareCr(r, g, b) {
  const v = (32768 * r - 27439 * g - 5329 * b + CHROMA_BIAS) >> 18;
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * §11.9: a canvas among JPEG layers placed into the planes. The box's h x w RGB picture (enlarged, §11.7) is
 * extended to whole blocks by repeating its last column and row (source columns and rows clamped to w - 1 and
 * h - 1), and each of the region's blocks converted to Y per pixel and, with chroma planes, to Cb and Cr per 2x2
 * square, and written.
 */
function placeCanvas(picture, geometry, blocks, head, planes) {
  const { blockSize: B, cols: gridCols } = head;
  const { top, left, h, w } = geometry;
  const [Y, Cb, Cr] = planes;
  const extended = Math.ceil(w / B) * B;
  const column = new Int32Array(extended); // the picture's sample of each column of the extended picture
  for (let x = 0; x < extended; x++) column[x] = Math.min(x, w - 1) * 3;
  const row = (y) => Math.min(y - top, h - 1) * w * 3; // and of each row
  for (let i = 0; i < blocks.length; i++) {
    const y0 = Math.floor(blocks[i] / gridCols) * B;
    const x0 = (blocks[i] % gridCols) * B;
    for (let y = y0; y < y0 + B; y++) {
      const r = row(y);
      for (let x = x0 - left, o = y * Y.cols + x0; x < x0 - left + B; x++, o++) {
        const p = r + column[x];
        Y.data[o] = rgbToGrey(picture[p], picture[p + 1], picture[p + 2]);
      }
    }
    if (!Cb) continue;
    for (let y = y0; y < y0 + B; y += 2) {
      const r0 = row(y);
      const r1 = row(y + 1);
      for (let x = x0 - left, o = (y / 2) * Cb.cols + x0 / 2; x < x0 - left + B; x += 2, o++) {
        const a = r0 + column[x];
        const b = r0 + column[x + 1];
        const c = r1 + column[x];
        const d = r1 + column[x + 1];
        const red = picture[a] + picture[b] + picture[c] + picture[d];
        const green = picture[a + 1] + picture[b + 1] + picture[c + 1] + picture[d + 1];
        const blue = picture[a + 2] + picture[b + 2] + picture[c + 2] + picture[d + 2];
        Cb.data[o] = squareCb(red, green, blue);
        Cr.data[o] = squareCr(red, green, blue);
      }
    }
  }
}

// ---------------------------------------------------------------- §11.1: decoding

/** A name and place for each stream of a layer, for checks and errors. */
function namedStreams(layer) {
  const names = layer.codec === 'jpeg' ? ['luma stream', 'chroma stream'] : ['picture'];
  let offset = layer.offset + 8 + LAYR_FIELDS;
  return layer.streams.map((data, k) => {
    const stream = { data, offset, what: `${names[k]} of region ${layer.region}` };
    offset += data.length;
    return stream;
  });
}

/**
 * Decode .rgc bytes (§11): {width, height, mode, channels, data, orientation, metadata}. data is a
 * Uint8ClampedArray of the pixels as stored (not turned by the EXIF orientation), rows top to bottom, each
 * pixel's channels in the order of its mode (L; L, A; R, G, B; R, G, B, A), or with layout 'rgba' four channels
 * R, G, B, A as ImageData holds them. Throws an RgcError for any file the spec refuses. kernels: false and
 * imageDecoder: false take the plain JavaScript and canvas paths where the faster ones would run.
 */
export async function decode(input, options = {}) {
  const { maxPixels = DEFAULT_MAX_PIXELS, layout = 'native' } = options;
  const file = parse(input, { maxPixels });
  const { head } = file;
  const { width, height } = head;
  const alpha = head.hasAlpha ? alphaPlane(file.alpha, head) : null;
  const coded = file.layers.filter((l) => l.streams.length);
  const blocks = regionBlocks(file.map, file.counts);
  const canvasesOnly = coded.every((layer) => layer.codec !== 'jpeg'); // §11.1 step 8, else 7
  const decodeLayers = canvasesOnly ? decodeCanvasLayers : decodePlanes;
  const rgba = await decodeLayers(file, coded, blocks, options);
  if (alpha) for (let i = 0; i < alpha.length; i++) rgba[4 * i + 3] = alpha[i];
  const data = layout === 'rgba' ? rgba : modeChannels(rgba, head.channels);
  const metadata = Object.fromEntries(Object.entries(file.metadata).map(([k, v]) => [k, v.slice()]));
  const channels = layout === 'rgba' ? 4 : head.channels;
  return { width, height, mode: head.mode, channels, data, orientation: file.orientation, metadata };
}

/** RGBA pixels as the channels of a mode (§16): L is R; L, A is R, A; RGB drops A; RGBA is as it is. */
function modeChannels(rgba, channels) {
  if (channels === 4) return rgba;
  const n = rgba.length / 4;
  const out = new Uint8ClampedArray(n * channels);
  for (let i = 0, o = 0, p = 0; i < n; i++, p += 4, o += channels) {
    out[o] = rgba[p];
    if (channels === 2) out[o + 1] = rgba[p + 3];
    if (channels === 3) {
      out[o + 1] = rgba[p + 1];
      out[o + 2] = rgba[p + 2];
    }
  }
  return out;
}

/** The check of a JPEG layer's streams against its mosaics (§7.1, §7.2): a job per stream, to decode and scatter. */
function mosaicJobs(head, layer) {
  const b = head.blockSize / layer.scale;
  const [mr, mc] = mosaicShape(layer.blocks, head.cols);
  const sizes = [
    [mr * b, mc * b],
    [mr * b, (mc * b) / 2],
  ];
  return namedStreams(layer).map((stream, k) => {
    const [rows, cols] = sizes[k];
    checkJpeg(stream, rows, cols);
    return { layer, k, stream, rows, cols };
  });
}

/** The check of a canvas against its region's box (§7.5): a job to decode and place it. */
function canvasJob(head, layer, boxes) {
  const [stream] = namedStreams(layer);
  const geometry = canvasGeometry(head, boxes[layer.region], layer.scale);
  checkCanvas(stream, layer.codec, geometry);
  return { layer, k: 0, stream, geometry };
}

/** A canvas decoded by the browser: its RGB samples at the layer's scale (canvasPicture makes the box's picture). */
async function decodeCanvas({ layer, stream, geometry }) {
  const type = CANVAS_TYPES[layer.codec];
  const bitmap = await browserDecode(stream.data, type, geometry.cols, geometry.rows, stream.what, stream.offset);
  return readBitmap(bitmap, 3);
}

/**
 * §11.1 steps 5, 7, 9 for a file with JPEG layers: every stream's header checked (with a DBLK chunk, every JPEG
 * table read too), then the streams decoded at once, each JPEG stream of scale 1 scattered (§11.3) and each
 * canvas placed (§11.9) as it arrives, the scaled layers placed (§11.4), the planes deblocked (§11.8) and
 * converted to RGBA.
 */
async function decodePlanes(file, coded, blocks, options) {
  const { head } = file;
  const boxes = regionBoxes(head, file.map);
  const jobFor = (layer) => (layer.codec === 'jpeg' ? mosaicJobs(head, layer) : canvasJob(head, layer, boxes));
  const jobs = coded.flatMap(jobFor); // every header checked, in layer order (§11.1 step 5)
  const strengths = file.deblock ? regionStrengths(jobs) : null;
  const kernels = await planeKernels(head, Boolean(strengths), options);
  const work = workspace(head, kernels, coded.some((layer) => layer.codec === 'jpeg' && layer.scale > 1));
  const useImageDecoder = options.imageDecoder !== false && HAS_IMAGE_DECODER;
  const scaled = [];
  await Promise.all(
    jobs.map(async (job) => {
      const region = blocks[job.layer.region];
      if (job.geometry) {
        const picture = canvasPicture(await decodeCanvas(job), job.geometry, job.layer.scale); // enlarged, §11.7
        return placeCanvas(picture, job.geometry, region, head, work.planes);
      }
      const samples = await decodeJpeg(job.stream, job.rows, job.cols, useImageDecoder);
      if (job.layer.scale === 1) scatterStream(job, samples, work.planes, head, blocks);
      else scaled.push({ job, samples });
    }),
  );
  placeScaledLayers(head, scaled, work.planes, blocks);
  if (strengths) deblock(head, file.map, work.planes, strengths, file.deblock, work.filterPlane);
  work.toRgba();
  return work.out;
}

/** §11.1 steps 5, 8 for a file of canvases only: every header checked, the canvases decoded at once and pasted. */
async function decodeCanvasLayers(file, coded, blocks) {
  const { head } = file;
  const boxes = regionBoxes(head, file.map);
  const jobs = coded.map((layer) => canvasJob(head, layer, boxes));
  const pictures = await Promise.all(jobs.map(decodeCanvas));
  const { width, height } = head;
  const rgba = new Uint8ClampedArray(width * height * 4);
  jobs.forEach(({ layer, geometry }, i) => {
    pasteRegion(canvasPicture(pictures[i], geometry, layer.scale), geometry, blocks[layer.region], head, rgba);
  });
  if (head.colour === 'L') {
    for (let p = 0; p < rgba.length; p += 4) rgba[p] = rgba[p + 1] = rgba[p + 2] = rgbToGrey(rgba[p], rgba[p + 1], rgba[p + 2]);
  }
  return rgba;
}

// ---------------------------------------------------------------- display: orientation, ImageData, bitmaps

/**
 * RGBA pixels (width x height) turned for display as EXIF orientation 1-8 asks (CIPA DC-008), as browsers do for
 * JPEG: {width, height, data}, sides swapped for 5-8.
 */
export function orient(data, width, height, orientation) {
  if (!(orientation >= 2 && orientation <= 8)) return { width, height, data };
  const swap = orientation >= 5;
  const ow = swap ? height : width;
  const oh = swap ? width : height;
  const src = new Uint32Array(data.buffer, data.byteOffset, width * height);
  const out = new Uint8ClampedArray(width * height * 4);
  const dst = new Uint32Array(out.buffer);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx;
      let sy;
      switch (orientation) {
        case 2: [sx, sy] = [width - 1 - x, y]; break;
        case 3: [sx, sy] = [width - 1 - x, height - 1 - y]; break;
        case 4: [sx, sy] = [x, height - 1 - y]; break;
        case 5: [sx, sy] = [y, x]; break;
        case 6: [sx, sy] = [y, height - 1 - x]; break;
        case 7: [sx, sy] = [width - 1 - y, height - 1 - x]; break;
        default: [sx, sy] = [width - 1 - y, x]; break; // 8
      }
      dst[y * ow + x] = src[sy * width + sx];
    }
  }
  return { width: ow, height: oh, data: out };
}

/**
 * Decode .rgc bytes to an ImageData (RGBA, not premultiplied), turned as its EXIF orientation says unless
 * options.orientation is 'none'; other options as decode's.
 */
export async function decodeImageData(input, options = {}) {
  const image = await decode(input, { ...options, layout: 'rgba' });
  const turned = options.orientation === 'none' ? image : orient(image.data, image.width, image.height, image.orientation);
  return new ImageData(turned.data, turned.width, turned.height);
}

/** Decode .rgc bytes to an ImageBitmap, ready for drawImage; options as decodeImageData's. */
export async function decodeBitmap(input, options = {}) {
  return createImageBitmap(await decodeImageData(input, options), { premultiplyAlpha: 'default' });
}

/** Decode .rgc bytes and draw them into a canvas, resizing it to the image; returns the ImageData drawn. */
export async function drawToCanvas(input, canvas, options = {}) {
  const imageData = await decodeImageData(input, options);
  canvas.width = imageData.width;
  canvas.height = imageData.height;
  canvas.getContext('2d').putImageData(imageData, 0, 0);
  return imageData;
}

/** Fetch an .rgc file and decode it to an ImageData; HTTP failures become Errors too. */
export async function fetchImageData(url, { signal, ...options } = {}) {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
  return decodeImageData(new Uint8Array(await response.arrayBuffer()), options);
}

/** The block map as an image-sized picture's grid: {rows, cols, blockSize, map}, for overlays. */
export function regionMap(input) {
  const { head, map } = parse(input, { maxPixels: MAX_DIMENSION * MAX_DIMENSION });
  return { rows: head.rows, cols: head.cols, blockSize: head.blockSize, regions: head.regions, map, width: head.width, height: head.height };
}
