//! The TinyMPC / ADMM kernels (autocomp-method.md section 4): a quadrotor-like model with 12 states and 4
//! inputs, the forward rollout of the ADMM primal update and the backward Riccati-style pass with cached
//! matrices. Everything here is host-side: the seeded problem generator and the f64 references.
//!
//! The generator builds one realistic problem per seed: a quadrotor linearized about hover (positions,
//! roll/pitch/yaw, velocities, body rates; four motor-thrust deviations), discretized at 50 Hz, with
//! seed-dependent physical constants and a small dense model perturbation; an infinite-horizon LQR
//! solution for TinyMPC's penalized costs (Q + rho I, R + rho I) gives the cached matrices Kinf, Pinf,
//! Quu^-1 and (A - B Kinf)^T. The closed loop is stable, so the rollout and the backward recursion stay
//! O(1) over the horizon, and every value varies with the seed.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// States (positions, attitude, velocities, body rates).
pub const NX: usize = 12;
/// Inputs (four motor-thrust deviations).
pub const NU: usize = 4;

/// Row-major dense matrix helpers on `f64` slices.
fn matmul(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
    let mut c = vec![0.0; n * m];
    for i in 0..n {
        for kk in 0..k {
            let av = a[i * k + kk];
            for j in 0..m {
                c[i * m + j] += av * b[kk * m + j];
            }
        }
    }
    c
}

fn transpose(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut t = vec![0.0; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

/// Inverse of a small well-conditioned matrix by Gauss-Jordan elimination with partial pivoting.
fn invert(a: &[f64], n: usize) -> Vec<f64> {
    let mut m = a.to_vec();
    let mut inv = vec![0.0; n * n];
    for i in 0..n {
        inv[i * n + i] = 1.0;
    }
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&x, &y| m[x * n + col].abs().total_cmp(&m[y * n + col].abs()))
            .unwrap_or(col);
        if piv != col {
            for j in 0..n {
                m.swap(col * n + j, piv * n + j);
                inv.swap(col * n + j, piv * n + j);
            }
        }
        let p = m[col * n + col];
        for j in 0..n {
            m[col * n + j] /= p;
            inv[col * n + j] /= p;
        }
        for r in 0..n {
            if r != col {
                let f = m[r * n + col];
                if f != 0.0 {
                    for j in 0..n {
                        m[r * n + j] -= f * m[col * n + j];
                        inv[r * n + j] -= f * inv[col * n + j];
                    }
                }
            }
        }
    }
    inv
}

/// One seeded MPC problem: the model and TinyMPC's cached matrices (all row-major, f64).
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    /// Dynamics x' = A x + B u.
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    /// Infinite-horizon LQR gain (NU x NX).
    pub kinf: Vec<f64>,
    /// Infinite-horizon cost-to-go (NX x NX).
    pub pinf: Vec<f64>,
    /// (R + rho I + B^T Pinf B)^-1 (NU x NU).
    pub quu_inv: Vec<f64>,
    /// (A - B Kinf)^T (NX x NX).
    pub amb_kt: Vec<f64>,
    /// Diagonal of the penalized state cost Q + rho I.
    pub q_diag: Vec<f64>,
}

/// Uniform in [lo, hi).
fn uni(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.gen::<f64>()
}

/// A model-mismatch term: magnitude uniform in [2e-4, 1e-3), random sign (never tiny, so no entry of A or
/// B is near zero or subnormal).
fn perturbation(rng: &mut ChaCha8Rng) -> f64 {
    let m = uni(rng, 2e-4, 1e-3);
    if rng.gen::<bool>() {
        m
    } else {
        -m
    }
}

impl Problem {
    /// The quadrotor of `seed`.
    pub fn generate(rng: &mut ChaCha8Rng) -> Problem {
        let dt = 0.02; // 50 Hz
        let g = 9.81;
        // Continuous-time hover linearization: p' = v, att' = w, vx' = g*pitch, vy' = -g*roll,
        // vz' = thrust/m, w' = J^-1 tau.
        let mut ac = vec![0.0; NX * NX];
        for i in 0..3 {
            ac[i * NX + 6 + i] = 1.0;
            ac[(3 + i) * NX + 9 + i] = 1.0;
        }
        ac[6 * NX + 4] = g;
        ac[7 * NX + 3] = -g;
        // Accelerations per unit input: collective thrust, roll, pitch and yaw torques (seeded constants).
        let thrust = uni(rng, 1.6, 2.4);
        let roll = uni(rng, 15.0, 25.0);
        let pitch = uni(rng, 15.0, 25.0);
        let yaw = uni(rng, 2.0, 4.0);
        let mut bc = vec![0.0; NX * NU];
        // X configuration: motor signs of the roll, pitch and yaw torques.
        let signs = [
            [-1.0, -1.0, 1.0, 1.0],
            [-1.0, 1.0, 1.0, -1.0],
            [-1.0, 1.0, -1.0, 1.0],
        ];
        for j in 0..NU {
            bc[8 * NU + j] = thrust;
            bc[9 * NU + j] = roll * signs[0][j];
            bc[10 * NU + j] = pitch * signs[1][j];
            bc[11 * NU + j] = yaw * signs[2][j];
        }
        // Second-order discretization: A = I + dt Ac + dt^2/2 Ac^2, B = dt Bc + dt^2/2 Ac Bc.
        let ac2 = matmul(&ac, &ac, NX, NX, NX);
        let acbc = matmul(&ac, &bc, NX, NX, NU);
        let mut a = vec![0.0; NX * NX];
        for i in 0..NX {
            for j in 0..NX {
                let id = if i == j { 1.0 } else { 0.0 };
                // A small dense perturbation: linearization away from hover and model mismatch.
                a[i * NX + j] =
                    id + dt * ac[i * NX + j] + 0.5 * dt * dt * ac2[i * NX + j] + perturbation(rng);
            }
        }
        let mut b = vec![0.0; NX * NU];
        for i in 0..NX * NU {
            b[i] = dt * bc[i] + 0.5 * dt * dt * acbc[i] + perturbation(rng);
        }
        // TinyMPC's penalized costs Q + rho I and R + rho I (seeded weights; the overall scale of the costs
        // is free, and this one keeps the cost-to-go terms O(1)).
        let rho = 0.05;
        let q_base = [
            0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.005, 0.005, 0.005,
        ];
        let q_diag: Vec<f64> = q_base
            .iter()
            .map(|q| q * uni(rng, 0.5, 2.0) + rho)
            .collect();
        let r_diag: Vec<f64> = (0..NU).map(|_| 0.05 * uni(rng, 0.5, 2.0) + rho).collect();
        // Infinite-horizon LQR by Riccati iteration (the closed loop is strongly stable: it converges in a
        // few hundred iterations).
        let at = transpose(&a, NX, NX);
        let bt = transpose(&b, NX, NU);
        let mut p = vec![0.0; NX * NX];
        for i in 0..NX {
            p[i * NX + i] = q_diag[i];
        }
        let mut kinf = vec![0.0; NU * NX];
        let mut quu_inv = vec![0.0; NU * NU];
        for _ in 0..5000 {
            let pb = matmul(&p, &b, NX, NX, NU);
            let mut quu = matmul(&bt, &pb, NU, NX, NU);
            for i in 0..NU {
                quu[i * NU + i] += r_diag[i];
            }
            quu_inv = invert(&quu, NU);
            let pa = matmul(&p, &a, NX, NX, NX);
            let btpa = matmul(&bt, &pa, NU, NX, NX);
            kinf = matmul(&quu_inv, &btpa, NU, NU, NX);
            // P = Q + A^T P (A - B K)
            let bk = matmul(&b, &kinf, NX, NU, NX);
            let amb: Vec<f64> = a.iter().zip(&bk).map(|(x, y)| x - y).collect();
            let pamb = matmul(&p, &amb, NX, NX, NX);
            let mut next = matmul(&at, &pamb, NX, NX, NX);
            for i in 0..NX {
                next[i * NX + i] += q_diag[i];
            }
            // keep P exactly symmetric
            for i in 0..NX {
                for j in 0..i {
                    let s = 0.5 * (next[i * NX + j] + next[j * NX + i]);
                    next[i * NX + j] = s;
                    next[j * NX + i] = s;
                }
            }
            let change = next
                .iter()
                .zip(&p)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0.0, f64::max);
            p = next;
            if change < 1e-12 {
                break;
            }
        }
        let bk = matmul(&b, &kinf, NX, NU, NX);
        let amb: Vec<f64> = a.iter().zip(&bk).map(|(x, y)| x - y).collect();
        Problem {
            a,
            b,
            kinf,
            pinf: p,
            quu_inv,
            amb_kt: transpose(&amb, NX, NX),
            q_diag,
        }
    }
}

/// binary32 values of f64 ones (round to nearest even).
fn f32s(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

/// The forward rollout's inputs, in argument order: A, B, K, d[horizon][NU], x0.
pub(crate) fn forward_inputs(seed: u64, horizon: usize) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pr = Problem::generate(&mut rng);
    // Feedforward terms of the ADMM iterate (d = Quu^-1 (B^T p + r) from the last backward pass): moderate.
    let d: Vec<f64> = (0..horizon * NU)
        .map(|_| uni(&mut rng, -0.3, 0.3))
        .collect();
    // Initial deviation from the hover set point: position, attitude, velocity, body rates.
    let scale = [1.0, 1.0, 1.0, 0.3, 0.3, 0.3, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    let x0: Vec<f64> = scale.iter().map(|s| s * uni(&mut rng, -1.0, 1.0)).collect();
    vec![
        f32s(&pr.a),
        f32s(&pr.b),
        f32s(&pr.kinf),
        f32s(&d),
        f32s(&x0),
    ]
}

/// The backward pass's inputs, in argument order: Bt, C1 = Quu^-1, C2 = (A - B Kinf)^T, KinfT,
/// q[horizon][NX], r[horizon][NU], pN.
pub(crate) fn backward_inputs(seed: u64, horizon: usize) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let pr = Problem::generate(&mut rng);
    // A reference trajectory toward a random waypoint up to 20 cm away; q = -(Q + rho I) x_ref plus the
    // ADMM terms rho (y - z), r = the ADMM input terms, pN = -Pinf x_ref at the end of the horizon.
    let target: Vec<f64> = (0..3).map(|_| uni(&mut rng, -0.2, 0.2)).collect();
    let xref = |k: usize| -> Vec<f64> {
        let f = (k + 1) as f64 / horizon as f64;
        (0..NX)
            .map(|i| if i < 3 { target[i] * f } else { 0.0 })
            .collect()
    };
    let mut q = Vec::with_capacity(horizon * NX);
    for k in 0..horizon {
        for (qi, xi) in pr.q_diag.iter().zip(xref(k)) {
            q.push(-qi * xi + 0.05 * uni(&mut rng, -1.0, 1.0));
        }
    }
    let r: Vec<f64> = (0..horizon * NU)
        .map(|_| 0.05 * uni(&mut rng, -1.0, 1.0))
        .collect();
    let xn = xref(horizon - 1);
    let pn: Vec<f64> = (0..NX)
        .map(|i| -(0..NX).map(|j| pr.pinf[i * NX + j] * xn[j]).sum::<f64>())
        .collect();
    vec![
        f32s(&transpose(&pr.b, NX, NU)),
        f32s(&pr.quu_inv),
        f32s(&pr.amb_kt),
        f32s(&transpose(&pr.kinf, NU, NX)),
        f32s(&q),
        f32s(&r),
        f32s(&pn),
    ]
}

/// y = M x for a row-major rows x cols matrix, in f64.
fn matvec(m: &[f32], x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    (0..rows)
        .map(|i| (0..cols).map(|j| f64::from(m[i * cols + j]) * x[j]).sum())
        .collect()
}

/// The forward rollout in f64: for t < horizon, u_t = -K x_t - d_t, x_{t+1} = A x_t + B u_t; row t of
/// the result is (u_t, x_{t+1}).
pub(crate) fn forward_reference(inp: &[Vec<f32>], horizon: usize) -> Vec<f64> {
    let (a, b, k, d, x0) = (&inp[0], &inp[1], &inp[2], &inp[3], &inp[4]);
    let mut x: Vec<f64> = x0.iter().map(|&v| f64::from(v)).collect();
    let mut out = Vec::with_capacity(horizon * (NU + NX));
    for t in 0..horizon {
        let kx = matvec(k, &x, NU, NX);
        let u: Vec<f64> = (0..NU).map(|j| -kx[j] - f64::from(d[t * NU + j])).collect();
        let ax = matvec(a, &x, NX, NX);
        let bu = matvec(b, &u, NX, NU);
        x = ax.iter().zip(&bu).map(|(p, q)| p + q).collect();
        out.extend_from_slice(&u);
        out.extend_from_slice(&x);
    }
    out
}

/// The backward pass in f64: p_{N-1} = pN; for k = N-2 down to 0: d_k = C1 (Bt p_{k+1} + r_k),
/// p_k = q_k + C2 p_{k+1} - KinfT r_k; row k of the result is (d_k, p_k).
pub(crate) fn backward_reference(inp: &[Vec<f32>], horizon: usize) -> Vec<f64> {
    let (bt, c1, c2, kinft, q, r, pn) = (
        &inp[0], &inp[1], &inp[2], &inp[3], &inp[4], &inp[5], &inp[6],
    );
    let rows = horizon - 1;
    let mut out = vec![0.0; rows * (NU + NX)];
    let mut p: Vec<f64> = pn.iter().map(|&v| f64::from(v)).collect();
    for k in (0..rows).rev() {
        let rk: Vec<f64> = r[k * NU..(k + 1) * NU]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let btp = matvec(bt, &p, NU, NX);
        let y: Vec<f64> = btp.iter().zip(&rk).map(|(a, b)| a + b).collect();
        let dk = matvec(c1, &y, NU, NU);
        let c2p = matvec(c2, &p, NX, NX);
        let kr = matvec(kinft, &rk, NX, NU);
        let pk: Vec<f64> = (0..NX)
            .map(|i| f64::from(q[k * NX + i]) + c2p[i] - kr[i])
            .collect();
        let row = &mut out[k * (NU + NX)..(k + 1) * (NU + NX)];
        row[..NU].copy_from_slice(&dk);
        row[NU..].copy_from_slice(&pk);
        p = pk;
    }
    out
}

/// Multiply-adds of the forward rollout: K x, A x and B u per step.
pub(crate) fn forward_macs(horizon: u64) -> u64 {
    let (nx, nu) = (NX as u64, NU as u64);
    horizon * (nu * nx + nx * nx + nx * nu)
}

/// Multiply-adds of the backward pass: Bt p, C1 (.), C2 p and KinfT r per step (horizon - 1 steps).
pub(crate) fn backward_macs(horizon: u64) -> u64 {
    let (nx, nu) = (NX as u64, NU as u64);
    horizon.saturating_sub(1) * (nu * nx + nu * nu + nx * nx + nx * nu)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_abs(v: &[f64]) -> f64 {
        v.iter().fold(0.0, |m, x| m.max(x.abs()))
    }

    #[test]
    fn the_lqr_closed_loop_is_stable_and_values_stay_moderate() {
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let pr = Problem::generate(&mut rng);
            // Power iteration on (A - B K): the state decays.
            let amb = transpose(&pr.amb_kt, NX, NX);
            let mut x = vec![1.0; NX];
            for _ in 0..2000 {
                x = matvec(&f32s(&amb), &x, NX, NX);
            }
            assert!(max_abs(&x) < 1e-3, "seed {seed}: {x:?}");
            let f = forward_reference(&forward_inputs(seed, 5), 5);
            let b = backward_reference(&backward_inputs(seed, 10), 10);
            for (name, v) in [("forward", &f), ("backward", &b)] {
                let m = max_abs(v);
                assert!(m > 0.05 && m < 50.0, "seed {seed} {name}: max |value| {m}");
                assert!(v.iter().all(|x| x.is_finite()));
            }
            for inp in forward_inputs(seed, 5)
                .iter()
                .chain(&backward_inputs(seed, 10))
            {
                assert!(
                    inp.iter().all(|x| x.is_normal()),
                    "seed {seed}: inputs are finite, nonzero and not subnormal"
                );
            }
        }
    }

    #[test]
    fn quu_inverse_is_an_inverse() {
        let m = vec![
            4.0, 1.0, 0.0, 0.5, 1.0, 3.0, 0.2, 0.0, 0.0, 0.2, 2.0, 0.1, 0.5, 0.0, 0.1, 1.0,
        ];
        let inv = invert(&m, 4);
        let id = matmul(&m, &inv, 4, 4, 4);
        for i in 0..4 {
            for j in 0..4 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((id[i * 4 + j] - want).abs() < 1e-12);
            }
        }
    }

    /// f32 matrix-vector product, summing k in `order` with fused multiply-adds (like the array) or with
    /// separate multiplies and adds (like C compiled without FMA contraction).
    fn mv32(
        m: &[f32],
        x: &[f32],
        rows: usize,
        cols: usize,
        fused: bool,
        reverse: bool,
    ) -> Vec<f32> {
        (0..rows)
            .map(|i| {
                let mut s = 0.0f32;
                for jj in 0..cols {
                    let j = if reverse { cols - 1 - jj } else { jj };
                    s = if fused {
                        m[i * cols + j].mul_add(x[j], s)
                    } else {
                        s + m[i * cols + j] * x[j]
                    };
                }
                s
            })
            .collect()
    }

    /// The forward rollout in f32, either straight (as the naive C program) or through the folded closed
    /// loop x' = (A - B K) x - B d (as an accelerator program might).
    fn forward32(inp: &[Vec<f32>], h: usize, folded: bool) -> Vec<f32> {
        let (a, b, k, d) = (&inp[0], &inp[1], &inp[2], &inp[3]);
        let mut x = inp[4].clone();
        let mut acl = a.clone();
        if folded {
            for i in 0..NX {
                for j in 0..NX {
                    let bk: f32 = (0..NU).map(|l| b[i * NU + l] * k[l * NX + j]).sum();
                    acl[i * NX + j] = a[i * NX + j] - bk;
                }
            }
        }
        let mut out = Vec::new();
        for t in 0..h {
            let kx = mv32(k, &x, NU, NX, folded, folded);
            let u: Vec<f32> = (0..NU).map(|j| -kx[j] - d[t * NU + j]).collect();
            let next: Vec<f32> = if folded {
                let ax = mv32(&acl, &x, NX, NX, true, true);
                let nd: Vec<f32> = d[t * NU..(t + 1) * NU].iter().map(|v| -v).collect();
                let bd = mv32(b, &nd, NX, NU, true, false);
                ax.iter().zip(&bd).map(|(p, q)| p + q).collect()
            } else {
                let ax = mv32(a, &x, NX, NX, false, false);
                let bu = mv32(b, &u, NX, NU, false, false);
                ax.iter().zip(&bu).map(|(p, q)| p + q).collect()
            };
            out.extend_from_slice(&u);
            out.extend_from_slice(&next);
            x = next;
        }
        out
    }

    /// The backward pass in f32, straight or with C1 Bt folded into one matrix.
    fn backward32(inp: &[Vec<f32>], h: usize, folded: bool) -> Vec<f32> {
        let (bt, c1, c2, kinft, q, r) = (&inp[0], &inp[1], &inp[2], &inp[3], &inp[4], &inp[5]);
        let mut m1 = vec![0.0f32; NU * NX];
        for i in 0..NU {
            for j in 0..NX {
                m1[i * NX + j] = (0..NU).map(|l| c1[i * NU + l] * bt[l * NX + j]).sum();
            }
        }
        let mut p = inp[6].clone();
        let mut out = vec![0.0f32; (h - 1) * (NU + NX)];
        for k in (0..h - 1).rev() {
            let rk = &r[k * NU..(k + 1) * NU];
            let dk: Vec<f32> = if folded {
                let a = mv32(&m1, &p, NU, NX, true, true);
                let b = mv32(c1, rk, NU, NU, true, false);
                a.iter().zip(&b).map(|(x, y)| x + y).collect()
            } else {
                let btp = mv32(bt, &p, NU, NX, false, false);
                let y: Vec<f32> = btp.iter().zip(rk).map(|(a, b)| a + b).collect();
                mv32(c1, &y, NU, NU, false, false)
            };
            let c2p = mv32(c2, &p, NX, NX, folded, folded);
            let kr = mv32(kinft, rk, NX, NU, folded, false);
            let pk: Vec<f32> = (0..NX).map(|i| q[k * NX + i] + c2p[i] - kr[i]).collect();
            out[k * (NU + NX)..k * (NU + NX) + NU].copy_from_slice(&dk);
            out[k * (NU + NX) + NU..(k + 1) * (NU + NX)].copy_from_slice(&pk);
            p = pk;
        }
        out
    }

    /// Largest |got - want| / (1e-4 * max(1, |want|)): below 1 passes the check.
    fn worst(got: &[f32], want: &[f64]) -> f64 {
        got.iter()
            .zip(want)
            .map(|(&g, &w)| (f64::from(g) - w).abs() / (1e-4 * w.abs().max(1.0)))
            .fold(0.0, f64::max)
    }

    #[test]
    fn float32_programs_in_any_reasonable_order_pass_with_margin() {
        let mut seen = 0.0f64;
        for seed in 100..160 {
            let fi = forward_inputs(seed, 5);
            let fw = forward_reference(&fi, 5);
            let bi = backward_inputs(seed, 10);
            let bw = backward_reference(&bi, 10);
            for folded in [false, true] {
                seen = seen.max(worst(&forward32(&fi, 5, folded), &fw));
                seen = seen.max(worst(&backward32(&bi, 10, folded), &bw));
            }
        }
        // At most a tenth of the tolerance: the check has a wide margin for any float order.
        assert!(seen < 0.1, "worst error / tolerance {seen}");
        // ... and skipping a step or dropping a term is far outside it.
        let fi = forward_inputs(7, 5);
        let fw = forward_reference(&fi, 5);
        let mut short = forward32(&fi, 5, false);
        short[4 * 16..].fill(0.0);
        assert!(worst(&short, &fw) > 100.0);
    }
}
