;; §11.5 and §11.6 of spec/format.md in WebAssembly SIMD: chroma upsampled with libjpeg's h2v2 "fancy"
;; filter and every pixel converted from YCbCr to RGBA, 16 pixels at a time, in the same integer arithmetic
;; as planesToRgb in rgc.js (which is the readable version, and the fallback where SIMD is missing).
;; Assembled by web/kernels/build.mjs into web/kernels/colour.js; tests check that the two agree.
(module
  (import "env" "memory" (memory 1))

  ;; v[1 + j] = 3·c[i][j] + c[i ± 1][j] for output row y (rows -1 and h repeat the edges), then
  ;; v[0] = v[1] and v[cols + 1] = v[cols]: §11.5's columns step, as 16-bit sums.
  (func $columns (param $c i32) (param $cols i32) (param $rows i32) (param $y i32) (param $v i32)
    (local $i i32) (local $n i32) (local $a i32) (local $b i32) (local $j i32) (local $s v128)
    (local.set $i (i32.shr_u (local.get $y) (i32.const 1)))
    (local.set $n
      (if (result i32) (i32.and (local.get $y) (i32.const 1))
        (then (select (i32.add (local.get $i) (i32.const 1)) (i32.sub (local.get $rows) (i32.const 1))
                      (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $rows))))
        (else (select (i32.sub (local.get $i) (i32.const 1)) (i32.const 0) (i32.gt_u (local.get $i) (i32.const 0))))))
    (local.set $a (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $cols))))
    (local.set $b (i32.add (local.get $c) (i32.mul (local.get $n) (local.get $cols))))
    (local.set $j (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $j) (local.get $cols)))
        (local.set $s (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $a) (local.get $j)))))
        (v128.store
          (i32.add (local.get $v) (i32.shl (i32.add (local.get $j) (i32.const 1)) (i32.const 1)))
          (i16x8.add
            (i16x8.add (local.get $s) (i16x8.add (local.get $s) (local.get $s)))
            (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $b) (local.get $j))))))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $next)))
    (i32.store16 (local.get $v) (i32.load16_u offset=2 (local.get $v)))
    (i32.store16 offset=2
      (i32.add (local.get $v) (i32.shl (local.get $cols) (i32.const 1)))
      (i32.load16_u (i32.add (local.get $v) (i32.shl (local.get $cols) (i32.const 1))))))

  ;; §11.5's rows step for 8 chroma columns from v[j] (that is, 16 pixels): the even outputs
  ;; (3·v[j] + v[j-1] + 8) >> 4 and the odd ones (3·v[j] + v[j+1] + 7) >> 4, interleaved in pixel order.
  (func $rows (param $p i32) (result v128 v128)
    (local $c3 v128) (local $even v128) (local $odd v128)
    (local.set $c3 (v128.load offset=2 (local.get $p)))
    (local.set $c3 (i16x8.add (local.get $c3) (i16x8.add (local.get $c3) (local.get $c3))))
    (local.set $even (i16x8.shr_u (i16x8.add (i16x8.add (local.get $c3) (v128.load (local.get $p))) (v128.const i16x8 8 8 8 8 8 8 8 8)) (i32.const 4)))
    (local.set $odd (i16x8.shr_u (i16x8.add (i16x8.add (local.get $c3) (v128.load offset=4 (local.get $p))) (v128.const i16x8 7 7 7 7 7 7 7 7)) (i32.const 4)))
    (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $even) (local.get $odd))
    (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $even) (local.get $odd)))

  ;; (k·d + 8192) >> 14 for 8 signed 16-bit d (§11.6's R and B terms), exactly, as one rounding multiply:
  ;; q15mulr(2d, k) = (2d·k + 2^14) >> 15, the same numerator and shift doubled (|2d·k| < 2^31, no saturation).
  (func $term (param $d v128) (param $k v128) (result v128)
    (i16x8.q15mulr_sat_s (i16x8.add (local.get $d) (local.get $d)) (local.get $k)))

  ;; (-5636·(Cb - 128) - 11698·(Cr - 128) + 8192) >> 14 for 8 pixels: §11.6's G term, one rounding.
  (func $green (param $db v128) (param $dr v128) (result v128)
    (i16x8.narrow_i32x4_s
      (i32x4.shr_s
        (i32x4.add
          (i32x4.dot_i16x8_s
            (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $db) (local.get $dr))
            (v128.const i16x8 -5636 -11698 -5636 -11698 -5636 -11698 -5636 -11698))
          (v128.const i32x4 8192 8192 8192 8192))
        (i32.const 14))
      (i32x4.shr_s
        (i32x4.add
          (i32x4.dot_i16x8_s
            (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $db) (local.get $dr))
            (v128.const i16x8 -5636 -11698 -5636 -11698 -5636 -11698 -5636 -11698))
          (v128.const i32x4 8192 8192 8192 8192))
        (i32.const 14))))

  ;; 16 pixels' R, G, B and alpha bytes interleaved as RGBA and stored at $o.
  (func $store (param $o i32) (param $r v128) (param $g v128) (param $b v128) (param $a v128)
    (local $rg v128) (local $ba v128)
    (local.set $rg (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $r) (local.get $g)))
    (local.set $ba (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $b) (local.get $a)))
    (v128.store offset=0 (local.get $o) (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $rg) (local.get $ba)))
    (v128.store offset=16 (local.get $o) (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $rg) (local.get $ba)))
    (local.set $rg (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $r) (local.get $g)))
    (local.set $ba (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $b) (local.get $a)))
    (v128.store offset=32 (local.get $o) (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $rg) (local.get $ba)))
    (v128.store offset=48 (local.get $o) (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $rg) (local.get $ba))))

  ;; Rows $first..$last-1 of the cropped width x height image as RGBA (alpha 255) at $out, from the luma plane ($y, $ystride a row)
  ;; and the chroma planes ($cb, $cr: $crows x $ccols). $vb and $vr are scratch rows of ($ccols + 32) 16-bit
  ;; sums. Each row writes up to 15 pixels past its end (the next row overwrites them), reads up to 16 bytes
  ;; past each plane row, so the caller pads the output by 64 bytes and each plane by 16. The caller goes in bands
  ;; of rows: a function's first call runs in V8's baseline code until it returns, later ones in optimised code.
  (func (export "rgba")
    (param $y i32) (param $ystride i32) (param $cb i32) (param $cr i32) (param $ccols i32) (param $crows i32)
    (param $width i32) (param $first i32) (param $last i32) (param $out i32) (param $vb i32) (param $vr i32)
    (local $row i32) (local $j i32) (local $yp i32) (local $o i32) (local $l v128)
    (local $cbA v128) (local $cbB v128) (local $crA v128) (local $crB v128) (local $lA v128) (local $lB v128)
    (local $dbA v128) (local $dbB v128) (local $drA v128) (local $drB v128)
    (local.set $row (local.get $first))
    (block $rowsDone
      (loop $nextRow
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $last)))
        (call $columns (local.get $cb) (local.get $ccols) (local.get $crows) (local.get $row) (local.get $vb))
        (call $columns (local.get $cr) (local.get $ccols) (local.get $crows) (local.get $row) (local.get $vr))
        (local.set $yp (i32.add (local.get $y) (i32.mul (local.get $row) (local.get $ystride))))
        (local.set $o (i32.add (local.get $out) (i32.shl (i32.mul (local.get $row) (local.get $width)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $done
          (loop $next
            (br_if $done (i32.ge_u (i32.shl (local.get $j) (i32.const 1)) (local.get $width)))
            (call $rows (i32.add (local.get $vb) (i32.shl (local.get $j) (i32.const 1))))
            (local.set $cbB) (local.set $cbA)
            (call $rows (i32.add (local.get $vr) (i32.shl (local.get $j) (i32.const 1))))
            (local.set $crB) (local.set $crA)
            (local.set $l (v128.load (i32.add (local.get $yp) (i32.shl (local.get $j) (i32.const 1)))))
            (local.set $lA (i16x8.extend_low_i8x16_u (local.get $l)))
            (local.set $lB (i16x8.extend_high_i8x16_u (local.get $l)))
            (local.set $dbA (i16x8.sub (local.get $cbA) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (local.set $dbB (i16x8.sub (local.get $cbB) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (local.set $drA (i16x8.sub (local.get $crA) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (local.set $drB (i16x8.sub (local.get $crB) (v128.const i16x8 128 128 128 128 128 128 128 128)))
            (call $store (i32.add (local.get $o) (i32.shl (local.get $j) (i32.const 3)))
              (i8x16.narrow_i16x8_u
                (i16x8.add (local.get $lA) (call $term (local.get $drA) (v128.const i16x8 22987 22987 22987 22987 22987 22987 22987 22987)))
                (i16x8.add (local.get $lB) (call $term (local.get $drB) (v128.const i16x8 22987 22987 22987 22987 22987 22987 22987 22987))))
              (i8x16.narrow_i16x8_u
                (i16x8.add (local.get $lA) (call $green (local.get $dbA) (local.get $drA)))
                (i16x8.add (local.get $lB) (call $green (local.get $dbB) (local.get $drB))))
              (i8x16.narrow_i16x8_u
                (i16x8.add (local.get $lA) (call $term (local.get $dbA) (v128.const i16x8 29049 29049 29049 29049 29049 29049 29049 29049)))
                (i16x8.add (local.get $lB) (call $term (local.get $dbB) (v128.const i16x8 29049 29049 29049 29049 29049 29049 29049 29049))))
              (v128.const i32x4 -1 -1 -1 -1))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $next)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $nextRow))))
)
