;; The inner loops of the count models' derivatives (objective.ts), in WebAssembly with 128-bit SIMD (two doubles per
;; instruction, no bounds checks): the dense × dense block of X'WX and the gradient, the dense × indicator block, the
;; group sums x̄_g and the linear index. Compiled by scripts/build-kernels.mjs (wabt) into kernels-wasm.ts; the
;; JavaScript twins in kernels.ts compute the same sums in the same order, bit for bit (test/stats/count/kernels.test.ts).
;;
;; Every pointer is a byte offset into the imported memory; arrays of doubles (f64) and of indices (i32), n entries.
;; Sums over rows run in two lanes: lane 0 adds the even rows, lane 1 the odd rows, a last odd row goes to lane 0, and
;; the result is lane 0 + lane 1. Element-wise results (products, axpy) are exact IEEE operations, as in JavaScript;
;; WebAssembly never fuses a multiply and an add, so the results are the same on every machine.
(module
  (import "env" "memory" (memory 1))

  ;; Σ a·b
  (func (export "dot") (param $a i32) (param $b i32) (param $n i32) (result f64)
    (local $s v128) (local $off i32) (local $end i32) (local $lane0 f64)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $s (f64x2.add (local.get $s)
          (f64x2.mul (v128.load (i32.add (local.get $a) (local.get $off))) (v128.load (i32.add (local.get $b) (local.get $off))))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $rows)))
    (local.set $lane0 (f64x2.extract_lane 0 (local.get $s)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then (local.set $lane0 (f64.add (local.get $lane0)
        (f64.mul (f64.load (i32.add (local.get $a) (local.get $end))) (f64.load (i32.add (local.get $b) (local.get $end))))))))
    (f64.add (local.get $lane0) (f64x2.extract_lane 1 (local.get $s))))

  ;; out[m] = Σ t·x_m for m = 0..3 (t read once for the four)
  (func (export "dot4") (param $t i32) (param $x0 i32) (param $x1 i32) (param $x2 i32) (param $x3 i32) (param $n i32) (param $out i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $v v128) (local $off i32) (local $end i32) (local $tail f64)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $t) (local.get $off))))
        (local.set $s0 (f64x2.add (local.get $s0) (f64x2.mul (local.get $v) (v128.load (i32.add (local.get $x0) (local.get $off))))))
        (local.set $s1 (f64x2.add (local.get $s1) (f64x2.mul (local.get $v) (v128.load (i32.add (local.get $x1) (local.get $off))))))
        (local.set $s2 (f64x2.add (local.get $s2) (f64x2.mul (local.get $v) (v128.load (i32.add (local.get $x2) (local.get $off))))))
        (local.set $s3 (f64x2.add (local.get $s3) (f64x2.mul (local.get $v) (v128.load (i32.add (local.get $x3) (local.get $off))))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $rows)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $tail (f64.load (i32.add (local.get $t) (local.get $end))))
        (local.set $s0 (f64x2.replace_lane 0 (local.get $s0) (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64.mul (local.get $tail) (f64.load (i32.add (local.get $x0) (local.get $end)))))))
        (local.set $s1 (f64x2.replace_lane 0 (local.get $s1) (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64.mul (local.get $tail) (f64.load (i32.add (local.get $x1) (local.get $end)))))))
        (local.set $s2 (f64x2.replace_lane 0 (local.get $s2) (f64.add (f64x2.extract_lane 0 (local.get $s2)) (f64.mul (local.get $tail) (f64.load (i32.add (local.get $x2) (local.get $end)))))))
        (local.set $s3 (f64x2.replace_lane 0 (local.get $s3) (f64.add (f64x2.extract_lane 0 (local.get $s3)) (f64.mul (local.get $tail) (f64.load (i32.add (local.get $x3) (local.get $end)))))))))
    (f64.store offset=0 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $s0)) (f64x2.extract_lane 1 (local.get $s0))))
    (f64.store offset=8 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $s1)) (f64x2.extract_lane 1 (local.get $s1))))
    (f64.store offset=16 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $s2)) (f64x2.extract_lane 1 (local.get $s2))))
    (f64.store offset=24 (local.get $out) (f64.add (f64x2.extract_lane 0 (local.get $s3)) (f64x2.extract_lane 1 (local.get $s3)))))

  ;; scratch = w2·x (element-wise), returns Σ w1·x
  (func (export "weightColumn") (param $w1 i32) (param $w2 i32) (param $x i32) (param $scratch i32) (param $n i32) (result f64)
    (local $s v128) (local $v v128) (local $off i32) (local $end i32) (local $tail f64) (local $lane0 f64)
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $v (v128.load (i32.add (local.get $x) (local.get $off))))
        (local.set $s (f64x2.add (local.get $s) (f64x2.mul (v128.load (i32.add (local.get $w1) (local.get $off))) (local.get $v))))
        (v128.store (i32.add (local.get $scratch) (local.get $off)) (f64x2.mul (v128.load (i32.add (local.get $w2) (local.get $off))) (local.get $v)))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $rows)))
    (local.set $lane0 (f64x2.extract_lane 0 (local.get $s)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $tail (f64.load (i32.add (local.get $x) (local.get $end))))
        (local.set $lane0 (f64.add (local.get $lane0) (f64.mul (f64.load (i32.add (local.get $w1) (local.get $end))) (local.get $tail))))
        (f64.store (i32.add (local.get $scratch) (local.get $end)) (f64.mul (f64.load (i32.add (local.get $w2) (local.get $end))) (local.get $tail)))))
    (f64.add (local.get $lane0) (f64x2.extract_lane 1 (local.get $s))))

  ;; y += b·x (element-wise)
  (func (export "axpy") (param $b f64) (param $x i32) (param $y i32) (param $n i32)
    (local $bb v128) (local $off i32) (local $end i32)
    (local.set $bb (f64x2.splat (local.get $b)))
    (local.set $end (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
        (v128.store (i32.add (local.get $y) (local.get $off))
          (f64x2.add (v128.load (i32.add (local.get $y) (local.get $off))) (f64x2.mul (local.get $bb) (v128.load (i32.add (local.get $x) (local.get $off))))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $rows)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then (f64.store (i32.add (local.get $y) (local.get $end))
        (f64.add (f64.load (i32.add (local.get $y) (local.get $end))) (f64.mul (local.get $b) (f64.load (i32.add (local.get $x) (local.get $end)))))))))

  ;; column[at[r]] += t[r]·value[r] for the rows with at[r] ≥ 0, in row order
  (func (export "scatter") (param $t i32) (param $at i32) (param $value i32) (param $column i32) (param $n i32)
    (local $r i32) (local $c i32) (local $cell i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $c (i32.load (i32.add (local.get $at) (i32.shl (local.get $r) (i32.const 2)))))
        (if (i32.ge_s (local.get $c) (i32.const 0))
          (then
            (local.set $cell (i32.add (local.get $column) (i32.shl (local.get $c) (i32.const 3))))
            (f64.store (local.get $cell) (f64.add (f64.load (local.get $cell))
              (f64.mul (f64.load (i32.add (local.get $t) (i32.shl (local.get $r) (i32.const 3))))
                       (f64.load (i32.add (local.get $value) (i32.shl (local.get $r) (i32.const 3)))))))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))

  ;; scores[g] = Σ_{r in g} share[r]·x[r] for the G groups (rows groupStart[g] .. groupStart[g+1]-1), rows in order
  (func (export "groupSums") (param $share i32) (param $x i32) (param $groupStart i32) (param $scores i32) (param $G i32)
    (local $g i32) (local $r i32) (local $end i32) (local $s f64)
    (local.set $r (i32.load (local.get $groupStart)))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $g) (local.get $G)))
        (local.set $end (i32.load (i32.add (local.get $groupStart) (i32.shl (i32.add (local.get $g) (i32.const 1)) (i32.const 2)))))
        (local.set $s (f64.const 0))
        (block $groupDone
          (loop $rows
            (br_if $groupDone (i32.ge_s (local.get $r) (local.get $end)))
            (local.set $s (f64.add (local.get $s)
              (f64.mul (f64.load (i32.add (local.get $share) (i32.shl (local.get $r) (i32.const 3))))
                       (f64.load (i32.add (local.get $x) (i32.shl (local.get $r) (i32.const 3)))))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows)))
        (f64.store (i32.add (local.get $scores) (i32.shl (local.get $g) (i32.const 3))) (local.get $s))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; scores[at[r]·G + g] += share[r]·value[r] for the rows of each group g with at[r] ≥ 0, rows in order
  (func (export "singleGroupSums") (param $at i32) (param $value i32) (param $share i32) (param $groupStart i32) (param $scores i32) (param $G i32)
    (local $g i32) (local $r i32) (local $end i32) (local $c i32) (local $cell i32)
    (local.set $r (i32.load (local.get $groupStart)))
    (block $done
      (loop $groups
        (br_if $done (i32.ge_u (local.get $g) (local.get $G)))
        (local.set $end (i32.load (i32.add (local.get $groupStart) (i32.shl (i32.add (local.get $g) (i32.const 1)) (i32.const 2)))))
        (block $groupDone
          (loop $rows
            (br_if $groupDone (i32.ge_s (local.get $r) (local.get $end)))
            (local.set $c (i32.load (i32.add (local.get $at) (i32.shl (local.get $r) (i32.const 2)))))
            (if (i32.ge_s (local.get $c) (i32.const 0))
              (then
                (local.set $cell (i32.add (local.get $scores) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $G)) (local.get $g)) (i32.const 3))))
                (f64.store (local.get $cell) (f64.add (f64.load (local.get $cell))
                  (f64.mul (f64.load (i32.add (local.get $share) (i32.shl (local.get $r) (i32.const 3))))
                           (f64.load (i32.add (local.get $value) (i32.shl (local.get $r) (i32.const 3)))))))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rows)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $groups))))

  ;; eta[r] += value[r]·beta[at[r]] for the rows with at[r] ≥ 0; returns 1 when every eta ≤ max (and none is NaN), else 0
  (func (export "addSingleIndex") (param $at i32) (param $value i32) (param $beta i32) (param $eta i32) (param $n i32) (param $max f64) (result i32)
    (local $r i32) (local $c i32) (local $s f64) (local $ok i32) (local $cell i32)
    (local.set $ok (i32.const 1))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $cell (i32.add (local.get $eta) (i32.shl (local.get $r) (i32.const 3))))
        (local.set $s (f64.load (local.get $cell)))
        (local.set $c (i32.load (i32.add (local.get $at) (i32.shl (local.get $r) (i32.const 2)))))
        (if (i32.ge_s (local.get $c) (i32.const 0))
          (then (local.set $s (f64.add (local.get $s)
            (f64.mul (f64.load (i32.add (local.get $value) (i32.shl (local.get $r) (i32.const 3))))
                     (f64.load (i32.add (local.get $beta) (i32.shl (local.get $c) (i32.const 3)))))))))
        (f64.store (local.get $cell) (local.get $s))
        (if (i32.eqz (f64.le (local.get $s) (local.get $max))) (then (local.set $ok (i32.const 0))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
    (local.get $ok))
)
