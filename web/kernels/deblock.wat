;; §11.8 of spec/format.md in WebAssembly SIMD: the ramp deblocking filter on one plane, eight lines of an edge
;; at a time (one per 16-bit lane), in the same integer arithmetic as deblockPlane in rgc.js (which is the readable
;; version, and the fallback where SIMD is missing). Assembled by web/kernels/build.mjs into web/kernels/deblock.js;
;; tests check that the two agree with the reference decoder.
(module
  (import "env" "memory" (memory 1))

  ;; |a - b| of 16-bit lanes.
  (func $diff (param $a v128) (param $b v128) (result v128)
    (i16x8.abs (i16x8.sub (local.get $a) (local.get $b))))

  ;; d2 = 3·(q0 - p0) - (q1 - p1) of 8 lines where the line is filtered (|d2| <= alpha and both sides flat within
  ;; beta), else 0: a line whose d2 is 0 has every correction 0, so it is left as it is.
  (func $gate
    (param $p3 v128) (param $p2 v128) (param $p1 v128) (param $p0 v128)
    (param $q0 v128) (param $q1 v128) (param $q2 v128) (param $q3 v128)
    (param $alpha v128) (param $beta v128) (result v128)
    (local $d v128) (local $d2 v128)
    (local.set $d (i16x8.sub (local.get $q0) (local.get $p0)))
    (local.set $d2
      (i16x8.sub
        (i16x8.add (local.get $d) (i16x8.add (local.get $d) (local.get $d)))
        (i16x8.sub (local.get $q1) (local.get $p1))))
    (v128.and (local.get $d2)
      (v128.and
        (i16x8.le_s (i16x8.abs (local.get $d2)) (local.get $alpha))
        (v128.and
          (i16x8.le_s
            (i16x8.add (call $diff (local.get $p0) (local.get $p1))
              (i16x8.add (call $diff (local.get $p1) (local.get $p2)) (call $diff (local.get $p2) (local.get $p3))))
            (local.get $beta))
          (i16x8.le_s
            (i16x8.add (call $diff (local.get $q0) (local.get $q1))
              (i16x8.add (call $diff (local.get $q1) (local.get $q2)) (call $diff (local.get $q2) (local.get $q3))))
            (local.get $beta))))))

  ;; c = (d2·w + 16) >> 5, the shift arithmetic (floor), for w = 7, 5, 3, 1 (c_0 .. c_3).
  (func $c (param $d2 v128) (param $w i32) (result v128)
    (i16x8.shr_s
      (i16x8.add (i16x8.mul (local.get $d2) (i16x8.splat (local.get $w))) (v128.const i16x8 16 16 16 16 16 16 16 16))
      (i32.const 5)))

  ;; One horizontal edge of 8 columns: the rows p3 .. q3 from $at (p3) on, $stride apart; lines are columns.
  (func $across (param $at i32) (param $stride i32) (param $alpha v128) (param $beta v128)
    (local $p3 v128) (local $p2 v128) (local $p1 v128) (local $p0 v128)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $d2 v128) (local $c v128)
    (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $a4 i32) (local $a5 i32) (local $a6 i32) (local $a7 i32)
    (local.set $a1 (i32.add (local.get $at) (local.get $stride)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $stride)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $stride)))
    (local.set $a4 (i32.add (local.get $a3) (local.get $stride)))
    (local.set $a5 (i32.add (local.get $a4) (local.get $stride)))
    (local.set $a6 (i32.add (local.get $a5) (local.get $stride)))
    (local.set $a7 (i32.add (local.get $a6) (local.get $stride)))
    (local.set $p3 (v128.load8x8_u (local.get $at)))
    (local.set $p2 (v128.load8x8_u (local.get $a1)))
    (local.set $p1 (v128.load8x8_u (local.get $a2)))
    (local.set $p0 (v128.load8x8_u (local.get $a3)))
    (local.set $q0 (v128.load8x8_u (local.get $a4)))
    (local.set $q1 (v128.load8x8_u (local.get $a5)))
    (local.set $q2 (v128.load8x8_u (local.get $a6)))
    (local.set $q3 (v128.load8x8_u (local.get $a7)))
    (local.set $d2
      (call $gate (local.get $p3) (local.get $p2) (local.get $p1) (local.get $p0)
                  (local.get $q0) (local.get $q1) (local.get $q2) (local.get $q3) (local.get $alpha) (local.get $beta)))
    (if (v128.any_true (local.get $d2))
      (then
        ;; p_k + c_k and q_k - c_k, clamped to 0..255 by the saturating narrowing
        (local.set $c (call $c (local.get $d2) (i32.const 7)))
        (v128.store64_lane 0 (local.get $a3) (i8x16.narrow_i16x8_u (i16x8.add (local.get $p0) (local.get $c)) (local.get $c)))
        (v128.store64_lane 0 (local.get $a4) (i8x16.narrow_i16x8_u (i16x8.sub (local.get $q0) (local.get $c)) (local.get $c)))
        (local.set $c (call $c (local.get $d2) (i32.const 5)))
        (v128.store64_lane 0 (local.get $a2) (i8x16.narrow_i16x8_u (i16x8.add (local.get $p1) (local.get $c)) (local.get $c)))
        (v128.store64_lane 0 (local.get $a5) (i8x16.narrow_i16x8_u (i16x8.sub (local.get $q1) (local.get $c)) (local.get $c)))
        (local.set $c (call $c (local.get $d2) (i32.const 3)))
        (v128.store64_lane 0 (local.get $a1) (i8x16.narrow_i16x8_u (i16x8.add (local.get $p2) (local.get $c)) (local.get $c)))
        (v128.store64_lane 0 (local.get $a6) (i8x16.narrow_i16x8_u (i16x8.sub (local.get $q2) (local.get $c)) (local.get $c)))
        (local.set $c (call $c (local.get $d2) (i32.const 1)))
        (v128.store64_lane 0 (local.get $at) (i8x16.narrow_i16x8_u (i16x8.add (local.get $p3) (local.get $c)) (local.get $c)))
        (v128.store64_lane 0 (local.get $a7) (i8x16.narrow_i16x8_u (i16x8.sub (local.get $q3) (local.get $c)) (local.get $c))))))

  ;; One vertical edge of 8 rows: each row's 8 bytes p3 .. q3 from $at (row 0's p3) on, rows $stride apart. The
  ;; 8x8 bytes are transposed (three rounds of interleaving) so that each sample of the line is one vector, the
  ;; lines filtered as $across filters them, and transposed back.
  (func $along (param $at i32) (param $stride i32) (param $alpha v128) (param $beta v128)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $d2 v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $a i32)
    ;; rows 0 1, 2 3, 4 5, 6 7 byte-interleaved: [r0c0 r1c0 r0c1 r1c1 ...]
    (local.set $a (local.get $at))
    (local.set $r0 (v128.load64_zero (local.get $a)))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $t0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $r0) (v128.load64_zero (local.get $a))))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $r0 (v128.load64_zero (local.get $a)))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $t1 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $r0) (v128.load64_zero (local.get $a))))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $r0 (v128.load64_zero (local.get $a)))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $t2 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $r0) (v128.load64_zero (local.get $a))))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $r0 (v128.load64_zero (local.get $a)))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (local.set $t3 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $r0) (v128.load64_zero (local.get $a))))
    ;; 16-bit units interleaved: columns 0-3 of rows 0-3 (r0), 4-7 of rows 0-3 (r1), and of rows 4-7 (r2, r3)
    (local.set $r0 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $t0) (local.get $t1)))
    (local.set $r1 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $t0) (local.get $t1)))
    (local.set $r2 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $t2) (local.get $t3)))
    (local.set $r3 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $t2) (local.get $t3)))
    ;; 32-bit units interleaved: each vector is two columns of 8 rows: (p3 p2) (p1 p0) (q0 q1) (q2 q3)
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r2)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r2)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r1) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r1) (local.get $r3)))
    (local.set $d2
      (call $gate
        (i16x8.extend_low_i8x16_u (local.get $t0)) (i16x8.extend_high_i8x16_u (local.get $t0))
        (i16x8.extend_low_i8x16_u (local.get $t1)) (i16x8.extend_high_i8x16_u (local.get $t1))
        (i16x8.extend_low_i8x16_u (local.get $t2)) (i16x8.extend_high_i8x16_u (local.get $t2))
        (i16x8.extend_low_i8x16_u (local.get $t3)) (i16x8.extend_high_i8x16_u (local.get $t3))
        (local.get $alpha) (local.get $beta)))
    (if (i32.eqz (v128.any_true (local.get $d2))) (then (return)))
    (local.set $c0 (call $c (local.get $d2) (i32.const 7)))
    (local.set $c1 (call $c (local.get $d2) (i32.const 5)))
    (local.set $c2 (call $c (local.get $d2) (i32.const 3)))
    (local.set $c3 (call $c (local.get $d2) (i32.const 1)))
    ;; p_k + c_k and q_k - c_k, clamped by the saturating narrowing, two columns to a vector as they came
    (local.set $t0
      (i8x16.narrow_i16x8_u
        (i16x8.add (i16x8.extend_low_i8x16_u (local.get $t0)) (local.get $c3))
        (i16x8.add (i16x8.extend_high_i8x16_u (local.get $t0)) (local.get $c2))))
    (local.set $t1
      (i8x16.narrow_i16x8_u
        (i16x8.add (i16x8.extend_low_i8x16_u (local.get $t1)) (local.get $c1))
        (i16x8.add (i16x8.extend_high_i8x16_u (local.get $t1)) (local.get $c0))))
    (local.set $t2
      (i8x16.narrow_i16x8_u
        (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $t2)) (local.get $c0))
        (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $t2)) (local.get $c1))))
    (local.set $t3
      (i8x16.narrow_i16x8_u
        (i16x8.sub (i16x8.extend_low_i8x16_u (local.get $t3)) (local.get $c2))
        (i16x8.sub (i16x8.extend_high_i8x16_u (local.get $t3)) (local.get $c3))))
    ;; back: the two columns of each vector byte-interleaved, then 16-bit units (rows 0-3, 4-7 of columns 0-3
    ;; and 4-7), then 32-bit units: each vector two rows of 8 bytes
    (local.set $t0 (i8x16.shuffle 0 8 1 9 2 10 3 11 4 12 5 13 6 14 7 15 (local.get $t0) (local.get $t0)))
    (local.set $t1 (i8x16.shuffle 0 8 1 9 2 10 3 11 4 12 5 13 6 14 7 15 (local.get $t1) (local.get $t1)))
    (local.set $t2 (i8x16.shuffle 0 8 1 9 2 10 3 11 4 12 5 13 6 14 7 15 (local.get $t2) (local.get $t2)))
    (local.set $t3 (i8x16.shuffle 0 8 1 9 2 10 3 11 4 12 5 13 6 14 7 15 (local.get $t3) (local.get $t3)))
    (local.set $r0 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $t0) (local.get $t1)))
    (local.set $r1 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $t0) (local.get $t1)))
    (local.set $r2 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $t2) (local.get $t3)))
    (local.set $r3 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $t2) (local.get $t3)))
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r2)))
    (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r2)))
    (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r1) (local.get $r3)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r1) (local.get $r3)))
    (local.set $a (local.get $at))
    (v128.store64_lane 0 (local.get $a) (local.get $t0))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 1 (local.get $a) (local.get $t0))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 0 (local.get $a) (local.get $t1))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 1 (local.get $a) (local.get $t1))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 0 (local.get $a) (local.get $t2))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 1 (local.get $a) (local.get $t2))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 0 (local.get $a) (local.get $t3))
    (local.set $a (i32.add (local.get $a) (local.get $stride)))
    (v128.store64_lane 1 (local.get $a) (local.get $t3)))

  ;; Edge strength Q = (S_a + S_b + 1) >> 1 of the blocks at $sa and $sb (bytes of the strength grid), or 0 when
  ;; both are in the last region: their flags (1 or 0) lie $inside bytes after their strengths.
  (func $strength (param $sa i32) (param $sb i32) (param $inside i32) (result i32)
    (select
      (i32.const 0)
      (i32.shr_u (i32.add (i32.add (i32.load8_u (local.get $sa)) (i32.load8_u (local.get $sb))) (i32.const 1)) (i32.const 1))
      (i32.and (i32.load8_u (i32.add (local.get $sa) (local.get $inside)))
               (i32.load8_u (i32.add (local.get $sb) (local.get $inside))))))

  ;; Block rows $first..$last-1 of the plane at $plane ($stride samples a row, $gcols 8x8 blocks across, their
  ;; strengths S a byte each at $grid, row by row, then $inside bytes on a byte each, 1 for a block of the last
  ;; region, between two of which no edge is filtered): first their vertical edges (x = 8j, 1 <= j < $gcols), then
  ;; the horizontal edges y = 8i for $first <= i < $last, i >= 1. Edge i reads rows 8i-4 .. 8i+3, of block rows
  ;; i - 1 and i, which the first pass has done by then, and no later band's first pass reads a row a horizontal
  ;; edge wrote: so the plane may go in bands, in order, and the result is that of the two whole passes. Edges with
  ;; A·Q < 24 (alpha <= 2) are skipped: no sample of them could change. The caller goes in bands of a few block
  ;; rows: a function's first call runs in V8's baseline code until it returns, later ones in optimised code.
  (func (export "deblock")
    (param $plane i32) (param $stride i32) (param $grid i32) (param $inside i32) (param $gcols i32)
    (param $first i32) (param $last i32) (param $A i32) (param $B i32)
    (local $i i32) (local $j i32) (local $row i32) (local $q i32) (local $aq i32)
    ;; vertical edges
    (local.set $i (local.get $first))
    (block $rowsDone
      (loop $nextRow
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $last)))
        (local.set $row (i32.add (local.get $grid) (i32.mul (local.get $i) (local.get $gcols))))
        (local.set $j (i32.const 1))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $j) (local.get $gcols)))
            (local.set $q (call $strength
              (i32.add (local.get $row) (i32.sub (local.get $j) (i32.const 1))) (i32.add (local.get $row) (local.get $j))
              (local.get $inside)))
            (local.set $aq (i32.mul (local.get $A) (local.get $q)))
            (if (i32.ge_u (local.get $aq) (i32.const 24))
              (then
                (call $along
                  (i32.add (local.get $plane)
                    (i32.add (i32.mul (i32.shl (local.get $i) (i32.const 3)) (local.get $stride))
                      (i32.sub (i32.shl (local.get $j) (i32.const 3)) (i32.const 4))))
                  (local.get $stride)
                  (i16x8.splat (select (i32.shr_u (local.get $aq) (i32.const 3)) (i32.const 120)
                                       (i32.lt_u (i32.shr_u (local.get $aq) (i32.const 3)) (i32.const 120))))
                  (i16x8.splat (i32.shr_u (i32.mul (local.get $B) (local.get $q)) (i32.const 4))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $next)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $nextRow)))
    ;; horizontal edges
    (local.set $i (select (local.get $first) (i32.const 1) (i32.gt_u (local.get $first) (i32.const 0))))
    (block $rowsDone
      (loop $nextRow
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $last)))
        (local.set $row (i32.add (local.get $grid) (i32.mul (local.get $i) (local.get $gcols))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (local.get $j) (local.get $gcols)))
            (local.set $q (call $strength
              (i32.sub (i32.add (local.get $row) (local.get $j)) (local.get $gcols)) (i32.add (local.get $row) (local.get $j))
              (local.get $inside)))
            (local.set $aq (i32.mul (local.get $A) (local.get $q)))
            (if (i32.ge_u (local.get $aq) (i32.const 24))
              (then
                (call $across
                  (i32.add (local.get $plane)
                    (i32.add (i32.mul (i32.sub (i32.shl (local.get $i) (i32.const 3)) (i32.const 4)) (local.get $stride))
                      (i32.shl (local.get $j) (i32.const 3))))
                  (local.get $stride)
                  (i16x8.splat (select (i32.shr_u (local.get $aq) (i32.const 3)) (i32.const 120)
                                       (i32.lt_u (i32.shr_u (local.get $aq) (i32.const 3)) (i32.const 120))))
                  (i16x8.splat (i32.shr_u (i32.mul (local.get $B) (local.get $q)) (i32.const 4))))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $next)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $nextRow))))
)
