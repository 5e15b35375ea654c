/* Three of the codec's passes over samples, compiled: the deblocking filter's passes over a row of edges and
 * over the vertical edges of a band (spec §11.8), chroma upsampling (§11.5), and moving blocks between a plane
 * and its mosaic (§7.1, §11.3), which the encoder uses too.
 *
 * Each is the spec's integer formula (or copy) written once: for 8 lines at a time in vector types (the
 * filter), in loops over contiguous samples that compilers vectorise (upsampling), or as fixed-size copies
 * (blocks). The numpy/OpenCV code in deblock.py, decoder.py and layout.py computes the same samples where
 * this module was not built; the tests run both against the spec's transcription (tests/test_kernels.py,
 * and the `passes` fixture). Every function takes Python buffers (numpy arrays whose rows are contiguous),
 * checks their shapes before it touches a sample, and releases the GIL while it works, so bands and streams
 * of one image run on several threads at once (threads.py).
 *
 * C leaves right shifts of negative numbers to the compiler: where an operand may be negative, a bias that
 * makes it positive is added before the shift and taken off after, which floors as the spec's >> does. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define GRID 8 /* §11.8: an edge's line is eight samples, p3 p2 p1 p0 | q0 q1 q2 q3 */
/* §11.8: c_k = (d2 (7 - 2k) + 16) >> 5 with |d2| <= alpha <= 255 where a line is filtered, so the operand
 * is above -2048 = -(FLOOR_BIAS << 5). */
#define FLOOR_BIAS 64

/* A buffer of uint8 samples, 2-D with contiguous rows (strides[1] == 1); ValueError if it is not one. */
static int get_rows(PyObject *object, Py_buffer *view, int writable, const char *name)
{
    if (PyObject_GetBuffer(object, view, PyBUF_STRIDES | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->ndim != 2 || view->itemsize != 1 || (view->format && strcmp(view->format, "B") != 0)
        || (view->shape[1] > 1 && view->strides[1] != 1)) {
        PyErr_Format(PyExc_ValueError, "%s must be a 2-dimensional uint8 array with contiguous rows", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* Get count buffers (objects[k] as names[k], writable where writable[k]); on failure none stays held. */
static int get_all(int count, PyObject **objects, Py_buffer *views, const int *writable, const char **names)
{
    for (int k = 0; k < count; k++)
        if (get_rows(objects[k], &views[k], writable[k], names[k]) < 0) {
            while (k--)
                PyBuffer_Release(&views[k]);
            return -1;
        }
    return 0;
}

static void release_all(int count, Py_buffer *views)
{
    for (int k = 0; k < count; k++)
        PyBuffer_Release(&views[k]);
}

static inline uint8_t *row(const Py_buffer *view, Py_ssize_t index)
{
    return (uint8_t *)view->buf + index * view->strides[0];
}

/* Deblocking (§11.8) */

/* The filter works on 8 lines at once, each sample widened to 16 bits (every value fits: |d2| <= 1020, and
 * c_k's operand with its bias stays below 2^13), in the vector types GCC and Clang provide on every target
 * (SSE2, NEON, or plain integers where there are none). Comparisons give lanes of all ones (true) or zeros. */
typedef int16_t lanes __attribute__((vector_size(2 * GRID)));
typedef uint8_t bytes __attribute__((vector_size(GRID)));

static inline lanes load(const uint8_t *at)
{
    bytes value;
    memcpy(&value, at, GRID);
    return __builtin_convertvector(value, lanes);
}

/* Lane-wise maximum and minimum, and storing values clamped to 0..255 as bytes: one instruction each where
 * SSE2 or NEON has it (the vector types convert to theirs as they are), three or four generic ones elsewhere. */
#if defined(__SSE2__)
#include <emmintrin.h>
static inline lanes larger(lanes a, lanes b) { return (lanes)_mm_max_epi16((__m128i)a, (__m128i)b); }
static inline lanes smaller(lanes a, lanes b) { return (lanes)_mm_min_epi16((__m128i)a, (__m128i)b); }
static inline void store(uint8_t *at, lanes value)
{
    _mm_storel_epi64((__m128i *)at, _mm_packus_epi16((__m128i)value, (__m128i)value));
}
#elif defined(__ARM_NEON)
#include <arm_neon.h>
static inline lanes larger(lanes a, lanes b) { return (lanes)vmaxq_s16((int16x8_t)a, (int16x8_t)b); }
static inline lanes smaller(lanes a, lanes b) { return (lanes)vminq_s16((int16x8_t)a, (int16x8_t)b); }
static inline void store(uint8_t *at, lanes value) { vst1_u8(at, vqmovun_s16((int16x8_t)value)); }
#else
static inline lanes larger(lanes a, lanes b) { lanes m = a > b; return (a & m) | (b & ~m); }
static inline lanes smaller(lanes a, lanes b) { lanes m = a < b; return (a & m) | (b & ~m); }
static inline void store(uint8_t *at, lanes value)
{
    lanes zero = {0};
    bytes clamped = __builtin_convertvector(smaller(larger(value, zero), zero + 255), bytes);
    memcpy(at, &clamped, GRID);
}
#endif

static inline lanes distance(lanes a, lanes b) { return larger(a, b) - smaller(a, b); }

/* c_k = (d2 (7 - 2k) + 16) >> 5, floored (FLOOR_BIAS) */
static inline lanes correction(lanes d2, int weight)
{
    return ((d2 * (int16_t)weight + 16 + (FLOOR_BIAS << 5)) >> 5) - FLOOR_BIAS;
}

/* Eight lines of an edge held as vectors by sample, v[k] = sample k of each line (p3 p2 p1 p0 q0 q1 q2 q3), a and b
 * their thresholds. A line is filtered where both sides are flat (each side's three steps sum, saturated at 255,
 * to at most b) and |d2| = |3 (q0 - p0) - (q1 - p1)| <= a: then p_k += c_k and q_k -= c_k. A line that is not
 * filtered takes d2 = 0, whose every c_k is 0. The values left in v are clamped to 0..255 as they are stored. */
static inline void filter_vectors(lanes v[GRID], lanes a, lanes b)
{
    lanes zero = {0};
    lanes flat_p = distance(v[1], v[0]) + distance(v[2], v[1]) + distance(v[3], v[2]);
    lanes flat_q = distance(v[5], v[4]) + distance(v[6], v[5]) + distance(v[7], v[6]);
    lanes flat = smaller(larger(flat_p, flat_q), zero + 255);
    lanes d2 = 3 * (v[4] - v[3]) - (v[5] - v[2]);
    d2 &= (flat <= b) & (d2 <= a) & (-d2 <= a);
    for (int k = 0; k < GRID / 2; k++) {
        lanes c = correction(d2, 7 - 2 * k);
        v[3 - k] += c;
        v[4 + k] -= c;
    }
}

/* Eight lines of an edge: line l is s[0][l] .. s[7][l], alpha[l] and beta[l] its thresholds (filter_vectors). */
static void filter_lines(uint8_t *const s[GRID], const uint8_t *alpha, const uint8_t *beta)
{
    lanes v[GRID];
    for (int k = 0; k < GRID; k++)
        v[k] = load(s[k]);
    filter_vectors(v, load(alpha), load(beta));
    for (int k = 0; k < GRID; k++)
        store(s[k], v[k]);
}

/* Whether every one of GRID alphas is at most 2, where every c_k is 0 (|d2| <= 2): the lines need no work. */
static inline int unfiltered(const uint8_t *alpha)
{
    uint64_t values;
    memcpy(&values, alpha, sizeof values);
    const uint64_t ones = 0x0101010101010101u;
    return !((values & (0xFC * ones)) | ((values >> 1) & values & ones)); /* no byte above 3, none equal to 3 */
}

/* One edge, count lines: sample k of line l at rows[k][l], alpha[l] and beta[l] its thresholds. The last
 * count % 8 lines go through a copy, the filter's vectors being 8 lines wide. */
static void filter_edge(uint8_t *const rows[GRID], const uint8_t *alpha, const uint8_t *beta, Py_ssize_t count)
{
    Py_ssize_t l = 0;
    uint8_t *s[GRID];
    for (; l + GRID <= count; l += GRID) {
        if (unfiltered(alpha + l))
            continue;
        for (int k = 0; k < GRID; k++)
            s[k] = rows[k] + l;
        filter_lines(s, alpha + l, beta + l);
    }
    if (l == count)
        return;
    uint8_t tail[GRID][GRID] = {{0}}, tail_alpha[GRID] = {0}, tail_beta[GRID] = {0};
    Py_ssize_t left = count - l;
    for (int k = 0; k < GRID; k++) {
        memcpy(tail[k], rows[k] + l, left);
        s[k] = tail[k];
    }
    memcpy(tail_alpha, alpha + l, left);
    memcpy(tail_beta, beta + l, left);
    filter_lines(s, tail_alpha, tail_beta);
    for (int k = 0; k < GRID; k++)
        memcpy(rows[k] + l, tail[k], left);
}

/* Each of count blocks' threshold repeated for its 8 lines, into lines (8 count bytes). */
static void expand_blocks(const uint8_t *blocks, Py_ssize_t count, uint8_t *lines)
{
    for (Py_ssize_t j = 0; j < count; j++) {
        uint64_t repeated = blocks[j] * 0x0101010101010101u;
        memcpy(lines + GRID * j, &repeated, GRID);
    }
}

/* The arguments of both filter passes, (samples, alpha, beta, first), samples writable: their buffers in views
 * and first; on failure none stays held. */
static int filter_arguments(PyObject *args, const char *format, const char *samples, Py_buffer views[3],
                            Py_ssize_t *first)
{
    PyObject *objects[3];
    static const int writable[3] = {1, 0, 0};
    const char *names[3] = {samples, "alpha", "beta"};
    if (!PyArg_ParseTuple(args, format, &objects[0], &objects[1], &objects[2], first))
        return -1;
    return get_all(3, objects, views, writable, names);
}

static PyObject *filter_edges(PyObject *self, PyObject *args)
{
    Py_buffer views[3];
    Py_ssize_t first;
    if (filter_arguments(args, "OOOn:filter_edges", "rows", views, &first) < 0)
        return NULL;
    const Py_buffer *rows = &views[0], *alpha = &views[1], *beta = &views[2];
    Py_ssize_t edges = alpha->shape[0], blocks = alpha->shape[1], lines = rows->shape[1];
    /* compared by division: products of shapes can overflow (broadcast views have any shape); lines is a real
     * row's length, so first + lines cannot */
    if (rows->shape[0] % GRID || rows->shape[0] / GRID != edges || beta->shape[0] != edges
        || beta->shape[1] != blocks || first < 0 || first >= GRID || (first + lines + GRID - 1) / GRID > blocks
        || blocks > (PY_SSIZE_T_MAX - 1) / (2 * GRID)) {
        release_all(3, views);
        PyErr_SetString(PyExc_ValueError,
                        "rows must be (8 edges, lines), and alpha and beta (edges, blocks) cover lines first.. of "
                        "their blocks (first < 8)");
        return NULL;
    }
    uint8_t *line_alpha = PyMem_RawMalloc(2 * GRID * blocks + 1), *line_beta = line_alpha + GRID * blocks;
    if (!line_alpha) {
        release_all(3, views);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t e = 0; e < edges; e++) {
        uint8_t *samples[GRID];
        for (int k = 0; k < GRID; k++)
            samples[k] = row(rows, GRID * e + k);
        expand_blocks(row(alpha, e), blocks, line_alpha);
        expand_blocks(row(beta, e), blocks, line_beta);
        filter_edge(samples, line_alpha + first, line_beta + first, lines);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(line_alpha);
    release_all(3, views);
    Py_RETURN_NONE;
}

/* The vertical edges of a band of rows, where each row is a line of every edge: edge e's samples are columns
 * 8e + 4 .. 8e + 11. Eight rows at a time are turned into vectors by sample and back, an 8x8 transpose in
 * registers, which costs less than transposing the band through memory to filter it with filter_edges. */
#if defined(__SSE2__)
/* Samples col .. col + 7 of 8 lines into v[k] = sample col + k of each line. */
static inline void gather(uint8_t *const lines[GRID], Py_ssize_t col, lanes v[GRID])
{
    __m128i r[GRID], t[4], u[4], zero = _mm_setzero_si128();
    for (int l = 0; l < GRID; l++)
        r[l] = _mm_loadl_epi64((const __m128i *)(lines[l] + col));
    for (int k = 0; k < 4; k++) /* lines 2k, 2k + 1 interleaved by sample */
        t[k] = _mm_unpacklo_epi8(r[2 * k], r[2 * k + 1]);
    u[0] = _mm_unpacklo_epi16(t[0], t[1]); /* samples 0-3 of lines 0-3 */
    u[1] = _mm_unpackhi_epi16(t[0], t[1]); /* samples 4-7 of lines 0-3 */
    u[2] = _mm_unpacklo_epi16(t[2], t[3]);
    u[3] = _mm_unpackhi_epi16(t[2], t[3]);
    for (int k = 0; k < 2; k++) {
        __m128i low = _mm_unpacklo_epi32(u[k], u[k + 2]), high = _mm_unpackhi_epi32(u[k], u[k + 2]);
        v[4 * k] = (lanes)_mm_unpacklo_epi8(low, zero); /* sample 4k of lines 0-7 */
        v[4 * k + 1] = (lanes)_mm_unpackhi_epi8(low, zero);
        v[4 * k + 2] = (lanes)_mm_unpacklo_epi8(high, zero);
        v[4 * k + 3] = (lanes)_mm_unpackhi_epi8(high, zero);
    }
}

/* v (clamped to 0..255) back into samples col .. col + 7 of the 8 lines: gather's transpose, undone. */
static inline void scatter(uint8_t *const lines[GRID], Py_ssize_t col, const lanes v[GRID])
{
    __m128i w[4], t[4], u[4];
    for (int k = 0; k < 4; k++) { /* samples 2k and 2k + 1 of lines 0-7 */
        w[k] = _mm_packus_epi16((__m128i)v[2 * k], (__m128i)v[2 * k + 1]);
        t[k] = _mm_unpacklo_epi8(w[k], _mm_srli_si128(w[k], 8)); /* lines interleaved by sample */
    }
    u[0] = _mm_unpacklo_epi16(t[0], t[1]);
    u[1] = _mm_unpackhi_epi16(t[0], t[1]);
    u[2] = _mm_unpacklo_epi16(t[2], t[3]);
    u[3] = _mm_unpackhi_epi16(t[2], t[3]);
    for (int k = 0; k < 2; k++) {
        __m128i low = _mm_unpacklo_epi32(u[k], u[k + 2]), high = _mm_unpackhi_epi32(u[k], u[k + 2]);
        _mm_storel_epi64((__m128i *)(lines[4 * k] + col), low); /* line 4k */
        _mm_storel_epi64((__m128i *)(lines[4 * k + 1] + col), _mm_srli_si128(low, 8));
        _mm_storel_epi64((__m128i *)(lines[4 * k + 2] + col), high);
        _mm_storel_epi64((__m128i *)(lines[4 * k + 3] + col), _mm_srli_si128(high, 8));
    }
}
#else
static inline void gather(uint8_t *const lines[GRID], Py_ssize_t col, lanes v[GRID])
{
    for (int k = 0; k < GRID; k++)
        for (int l = 0; l < GRID; l++)
            v[k][l] = lines[l][col + k];
}

static inline void scatter(uint8_t *const lines[GRID], Py_ssize_t col, const lanes v[GRID])
{
    uint8_t samples[GRID][GRID];
    for (int k = 0; k < GRID; k++)
        store(samples[k], v[k]);
    for (int l = 0; l < GRID; l++)
        for (int k = 0; k < GRID; k++)
            lines[l][col + k] = samples[k][l];
}
#endif

/* The thresholds of 8 lines whose first split lanes are in block row `upper` and the rest in `lower`. */
static inline lanes thresholds(uint8_t upper, uint8_t lower, lanes upper_lanes)
{
    lanes zero = {0};
    return ((zero + upper) & upper_lanes) | ((zero + lower) & ~upper_lanes);
}

/* The vertical edges of count lines (count <= 8), lines[l] the row of line l; alpha and beta hold the block
 * row of the first `split` lines, and the one below (read only if count > split). Fewer than 8 lines are
 * filtered as 8 whose missing lines are copies of the first, written back only where they exist. */
static void filter_group(uint8_t *const lines[GRID], Py_ssize_t count, Py_ssize_t edges, const uint8_t *upper_alpha,
                         const uint8_t *upper_beta, const uint8_t *lower_alpha, const uint8_t *lower_beta,
                         int split)
{
    lanes upper_lanes;
    for (int l = 0; l < GRID; l++)
        upper_lanes[l] = l < split ? -1 : 0;
    uint8_t *rows[GRID];
    for (int l = 0; l < GRID; l++)
        rows[l] = lines[l < count ? l : 0];
    for (Py_ssize_t e = 0; e < edges; e++) {
        uint8_t a_upper = upper_alpha[e], a_lower = count > split ? lower_alpha[e] : 0;
        if (a_upper <= 2 && a_lower <= 2) /* every c_k rounds to 0 */
            continue;
        uint8_t b_lower = count > split ? lower_beta[e] : 0;
        lanes v[GRID];
        gather(rows, GRID * e + 4, v);
        filter_vectors(v, thresholds(a_upper, a_lower, upper_lanes), thresholds(upper_beta[e], b_lower, upper_lanes));
        if (count == GRID) {
            scatter(rows, GRID * e + 4, v);
            continue;
        }
        uint8_t kept[GRID][GRID]; /* the written lines of a short group, copied out of the ones repeated */
        uint8_t *spare[GRID];
        for (int l = 0; l < GRID; l++)
            spare[l] = kept[l];
        scatter(spare, 0, v);
        for (Py_ssize_t l = 0; l < count; l++)
            memcpy(lines[l] + GRID * e + 4, kept[l], GRID);
    }
}

static PyObject *filter_across(PyObject *self, PyObject *args)
{
    Py_buffer views[3];
    Py_ssize_t first;
    if (filter_arguments(args, "OOOn:filter_across", "band", views, &first) < 0)
        return NULL;
    const Py_buffer *band = &views[0], *alpha = &views[1], *beta = &views[2];
    Py_ssize_t lines = band->shape[0], width = band->shape[1], blocks = alpha->shape[0], edges = alpha->shape[1];
    /* compared by division: products of shapes can overflow; lines is a real array's, so first + lines cannot */
    if (width % GRID || width / GRID - 1 != edges || beta->shape[0] != blocks || beta->shape[1] != edges
        || first < 0 || first >= GRID || (first + lines + GRID - 1) / GRID > blocks) {
        release_all(3, views);
        PyErr_SetString(PyExc_ValueError,
                        "band must be (lines, 8 (edges + 1)), and alpha and beta (blocks, edges) cover lines "
                        "first.. of their blocks (first < 8)");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t l = 0; l < lines; l += GRID) {
        Py_ssize_t block = (first + l) / GRID, count = lines - l < GRID ? lines - l : GRID;
        uint8_t *group[GRID];
        for (Py_ssize_t k = 0; k < count; k++)
            group[k] = row(band, l + k);
        const uint8_t *lower_alpha = block + 1 < blocks ? row(alpha, block + 1) : row(alpha, block);
        const uint8_t *lower_beta = block + 1 < blocks ? row(beta, block + 1) : row(beta, block);
        filter_group(group, count, edges, row(alpha, block), row(beta, block), lower_alpha, lower_beta,
                     (int)(GRID - first));
    }
    Py_END_ALLOW_THREADS
    release_all(3, views);
    Py_RETURN_NONE;
}

/* Chroma upsampling (§11.5) */

/* Output row y of the upsampled plane, its first count samples (count <= 2w): near is chroma row y / 2, far
 * the row above it for even y and below it for odd y (rows -1 and h copying 0 and h - 1). v (w + 2 samples)
 * holds the column pass v[j + 1] = 3 near[j] + far[j], v[0] and v[w + 1] copying its edge columns. Sums are at
 * most 16 x 255; the biases round halves up in even columns and down in odd ones (libjpeg's dither). */
static void upsample_row(const uint8_t *near, const uint8_t *far, Py_ssize_t w, int16_t *restrict v, uint8_t *out,
                         Py_ssize_t count)
{
    for (Py_ssize_t j = 0; j < w; j++)
        v[j + 1] = (int16_t)(3 * near[j] + far[j]);
    v[0] = v[1];
    v[w + 1] = v[w];
    for (Py_ssize_t j = 0; j < count >> 1; j++) {
        out[2 * j] = (uint8_t)((3 * v[j + 1] + v[j] + 8) >> 4);
        out[2 * j + 1] = (uint8_t)((3 * v[j + 1] + v[j + 2] + 7) >> 4);
    }
    if (count & 1)
        out[count - 1] = (uint8_t)((3 * v[(count >> 1) + 1] + v[count >> 1] + 8) >> 4);
}

static PyObject *upsample(PyObject *self, PyObject *args)
{
    PyObject *objects[2];
    Py_buffer views[2];
    Py_ssize_t top;
    static const int writable[2] = {0, 1};
    static const char *names[2] = {"chroma", "out"};
    if (!PyArg_ParseTuple(args, "OnO:upsample", &objects[0], &top, &objects[1]))
        return NULL;
    if (get_all(2, objects, views, writable, names) < 0)
        return NULL;
    const Py_buffer *chroma = &views[0], *out = &views[1];
    Py_ssize_t h = chroma->shape[0], w = chroma->shape[1], rows = out->shape[0], count = out->shape[1];
    if (top < 0 || top > 2 * h - rows || count > 2 * w || !h || !w) {
        release_all(2, views);
        PyErr_SetString(PyExc_ValueError, "out's rows from top must lie in the upsampled chroma");
        return NULL;
    }
    int16_t *v = PyMem_RawMalloc((w + 2) * sizeof(int16_t));
    if (!v) {
        release_all(2, views);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < rows; r++) {
        Py_ssize_t y = top + r, i = y >> 1, other = (y & 1) ? (i + 1 < h ? i + 1 : i) : (i > 0 ? i - 1 : 0);
        upsample_row(row(chroma, i), row(chroma, other), w, v, row(out, r), count);
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(v);
    release_all(2, views);
    Py_RETURN_NONE;
}

/* Mosaics (§7.1, §11.3) */

/* Copy a cell x cell block between rows of the given strides; the usual cells get copies of a fixed size,
 * which compilers make single moves (memmove: defined, if meaningless, where a caller's plane and mosaic
 * overlap). */
static inline void copy_block(uint8_t *to, Py_ssize_t to_stride, const uint8_t *from, Py_ssize_t from_stride,
                              Py_ssize_t cell)
{
#define COPY_ROWS(size)                                                                                          \
    for (Py_ssize_t r = 0; r < (size); r++)                                                                     \
        memmove(to + r * to_stride, from + r * from_stride, (size));
    switch (cell) {
    case 1: COPY_ROWS(1) break;
    case 2: COPY_ROWS(2) break;
    case 4: COPY_ROWS(4) break;
    case 8: COPY_ROWS(8) break;
    case 16: COPY_ROWS(16) break;
    case 32: COPY_ROWS(32) break;
    default: COPY_ROWS(cell)
    }
#undef COPY_ROWS
}

static PyObject *move_blocks(PyObject *self, PyObject *args)
{
    PyObject *objects[3];
    Py_buffer views[3];
    Py_ssize_t cell;
    int into_mosaic;
    static const char *names[3] = {"plane", "cells", "mosaic"};
    if (!PyArg_ParseTuple(args, "OOnOp:move_blocks", &objects[0], &objects[1], &cell, &objects[2], &into_mosaic))
        return NULL;
    const int writable[3] = {!into_mosaic, 0, into_mosaic};
    if (get_all(3, objects, views, writable, names) < 0)
        return NULL;
    const Py_buffer *plane = &views[0], *cells = &views[1], *mosaic = &views[2];
    Py_ssize_t grid_rows = cells->shape[0], grid_cols = cells->shape[1], count = 0, cols = 0;
    /* sizes are compared by division: products of shapes can overflow (broadcast views have any shape); the
     * cells are counted only once the grid is known to fit the plane, which is real memory */
    int fits = cell > 0 && grid_rows <= plane->shape[0] / cell && grid_cols <= plane->shape[1] / cell
               && !(mosaic->shape[0] % cell) && !(mosaic->shape[1] % cell);
    if (fits) {
        for (Py_ssize_t i = 0; i < grid_rows; i++)
            for (Py_ssize_t j = 0; j < grid_cols; j++)
                count += row(cells, i)[j] != 0;
        cols = mosaic->shape[1] / cell;
    }
    if (!fits || (count && (!cols || mosaic->shape[0] / cell < (count - 1) / cols + 1))) {
        release_all(3, views);
        PyErr_SetString(PyExc_ValueError, "the plane must hold the grid of cells, and the mosaic every block");
        return NULL;
    }
    /* Where each block starts in the plane, gathered before any is copied: a mosaic that is also cells cannot
     * change them. Positions advance by steps, not divisions, which would cost more than a small block's copy. */
    uint8_t **starts = PyMem_RawMalloc((count ? count : 1) * sizeof(uint8_t *));
    if (!starts) {
        release_all(3, views);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0, k = 0; i < grid_rows; i++)
        for (Py_ssize_t j = 0; j < grid_cols; j++)
            if (row(cells, i)[j])
                starts[k++] = row(plane, i * cell) + j * cell;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t place_row = 0, place_col = 0; /* the block's place in the mosaic, in raster order */
    for (Py_ssize_t k = 0; k < count; k++) {
        uint8_t *in_mosaic = row(mosaic, place_row * cell) + place_col * cell;
        if (into_mosaic)
            copy_block(in_mosaic, mosaic->strides[0], starts[k], plane->strides[0], cell);
        else
            copy_block(starts[k], plane->strides[0], in_mosaic, mosaic->strides[0], cell);
        if (++place_col == cols) {
            place_col = 0;
            place_row++;
        }
    }
    Py_END_ALLOW_THREADS
    PyMem_RawFree(starts);
    release_all(3, views);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"filter_edges", filter_edges, METH_VARARGS,
     "filter_edges(rows, alpha, beta, first): §11.8's pass, in place, over the edges between groups of eight rows: "
     "row 8e + k of rows is sample k of every line of edge e; alpha and beta (edges, blocks) are the thresholds "
     "of each block of 8 lines, line l in block (first + l) / 8."},
    {"filter_across", filter_across, METH_VARARGS,
     "filter_across(band, alpha, beta, first): §11.8's pass, in place, over the vertical edges of a band of rows: "
     "columns 8e + 4 .. 8e + 11 of each row are the samples of a line of edge e; alpha and beta (blocks, edges) "
     "are the thresholds of each block of 8 rows, row l in block (first + l) / 8."},
    {"upsample", upsample, METH_VARARGS,
     "upsample(chroma, top, out): rows top.. of chroma upsampled by §11.5 into out, as many columns as it has."},
    {"move_blocks", move_blocks, METH_VARARGS,
     "move_blocks(plane, cells, cell, mosaic, into_mosaic): copy the cell x cell blocks of plane where cells (one "
     "byte per block) is not 0, in raster order, into the mosaic's places in raster order, or back."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "The codec's passes over samples, compiled (kernels.c).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
