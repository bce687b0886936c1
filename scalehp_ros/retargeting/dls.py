"""Bounded damped least squares (Levenberg-Marquardt in a joint-limit box): the one solver loop of the package.

Minimises, over joint positions q (rad) inside the box [lower, upper],

    F(q) = data(q) + 0.5 * regularisation * |q - q_reference|^2

where data(q) is a (weighted) sum of squared residuals that the caller evaluates, together with the
Gauss-Newton model of it at q: H = J^T W J and g = J^T W r (so grad data = g). Each iteration solves

    (H + regularisation I + damping D) step = -(g + regularisation (q - q_reference))

with D = diag(H + regularisation I) + diagonal_floor (plus its mean when `mean_shift`), caps the step so no
joint moves more than `max_step` rad, projects q + step into the box, and accepts the new point only if F does
not increase. On a rejection the damping grows x10 and the step is recomputed from the same model (giving up,
at the last accepted q, once it exceeds 1e6); on acceptance it shrinks x0.3, down to its initial value. Every
iterate, and so the result, is inside the box and F never increases, even for unreachable targets.

Options that differ between the users (arm IK: arm_ik.ArmIK; keypoint vectors: vector_solver.VectorLeastSquares):
- freeze_at_bounds: joints at a bound whose gradient pushes outward are left out of the step (active set);
- step_tolerance: a step whose largest joint change is below it (rad) is accepted and ends the solve;
- relative_decrease / absolute_decrease: stop once F drops by at most absolute + relative * F;
- converged(state): tested before each iteration (e.g. a pose tolerance); ends the solve as converged.
Iterations count the evaluations of the Gauss-Newton model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import lapack

_MAX_DAMPING = 1e6
_DAMPING_GROWTH, _DAMPING_SHRINK = 10.0, 0.3

# evaluate(q) -> (data(q), state); linearise(q, state) -> (H, g) of data at q (state: the caller's, e.g. residuals)
Evaluate = Callable[[np.ndarray], tuple[float, Any]]
Linearise = Callable[[np.ndarray, Any], tuple[np.ndarray, np.ndarray]]


def _solve_spd(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x with a x = b for the damped normal equations (symmetric positive definite: J^T W J plus a positive
    diagonal). LAPACK's Cholesky solve directly: for the 6-16 joints here numpy.linalg.solve's per-call
    overhead (error-state context, gufunc dispatch) was most of its cost. Falls back to the LU solve when the
    matrix is not numerically positive definite."""
    _, x, info = lapack.dposv(a, b)
    if info != 0:
        return np.linalg.solve(a, b)
    return x


@dataclass
class DLSResult:
    q: np.ndarray  # rad, inside [lower, upper]
    cost: float  # F(q)
    state: Any  # what evaluate(q) returned with data(q)
    iterations: int  # Gauss-Newton models evaluated
    converged: bool  # converged(state) held (always False without a `converged` test)


def bounded_dls(
    evaluate: Evaluate,
    linearise: Linearise,
    q_start: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    max_iterations: int,
    max_step: float,
    damping: float,
    regularisation: float = 0.0,
    q_reference: np.ndarray | None = None,
    diagonal_floor: float = 1e-12,
    mean_shift: bool = False,
    freeze_at_bounds: bool = False,
    step_tolerance: float = 0.0,
    relative_decrease: float = 0.0,
    absolute_decrease: float = 0.0,
    converged: Callable[[Any], bool] | None = None,
) -> DLSResult:
    """Minimise F (module docstring) from q_start (clipped into the box); `damping` is the initial and least one.

    `linearise` may return a fresh Hessian array or one it does not reuse: the regularisation is added in place.
    """
    q = np.minimum(np.maximum(np.asarray(q_start, dtype=float), lower), upper)
    reference = q if q_reference is None else np.asarray(q_reference, dtype=float)
    n = q.shape[0]

    def total(q_: np.ndarray) -> tuple[float, Any]:
        data, state_ = evaluate(q_)
        if not regularisation:
            return data, state_
        dq = q_ - reference
        return data + 0.5 * regularisation * float(dq @ dq), state_

    cost, state = total(q)
    lm = damping
    iterations, done = 0, False
    while iterations < max_iterations:
        if converged is not None and converged(state):
            done = True
            break
        iterations += 1
        hessian, gradient = linearise(q, state)
        if regularisation:
            hessian.flat[:: n + 1] += regularisation  # the diagonal, without building index arrays
            gradient = gradient + regularisation * (q - reference)
        free = None
        if freeze_at_bounds:
            free = ~(((q <= lower) & (gradient > 0)) | ((q >= upper) & (gradient < 0)))
            if free.all():
                free = None
            elif not free.any():
                break
            else:
                hessian = hessian[free][:, free]  # the same block as np.ix_, at a fraction of its cost here
                gradient = gradient[free]
        scale = hessian.diagonal() + diagonal_floor
        if mean_shift:
            scale = scale + scale.mean()
        while True:  # grow the damping until the step does not raise the cost (LM acceptance)
            solved = _solve_spd(hessian + np.diag(lm * scale), -gradient)
            if free is None:
                step = solved
            else:
                step = np.zeros(n)
                step[free] = solved
            largest = np.abs(step).max()
            if largest > max_step:
                step *= max_step / largest
            q_new = np.minimum(np.maximum(q + step, lower), upper)
            cost_new, state_new = total(q_new)
            if cost_new <= cost or largest < step_tolerance:
                break
            lm *= _DAMPING_GROWTH
            if lm > _MAX_DAMPING:  # no descent direction left inside the box: a (local) minimum
                return DLSResult(q, cost, state, iterations, False)
        lm = max(lm * _DAMPING_SHRINK, damping)
        decrease = cost - cost_new
        q, cost, state = q_new, cost_new, state_new
        if largest < step_tolerance or decrease <= absolute_decrease + relative_decrease * cost:
            break
    return DLSResult(q, cost, state, iterations, done)
