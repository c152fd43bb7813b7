//! The trainer of the linear models: L2-regularised logistic regression solved in the primal by
//! a trust-region Newton method with preconditioned conjugate gradients (TRON), the method and
//! the settings of LIBLINEAR 2.30's `-s 0` (Lin, Weng and Keerthi 2008; the diagonal
//! preconditioner of Hsia, Chiang and Lin 2018), written in Rust so training needs no C library.
//! Several classes are learned one-vs-rest, two classes as one weight vector, with a constant
//! bias feature regularised like the others, as LIBLINEAR does with `-B 1`.
//!
//! Deterministic: no randomness, and every sum runs in a fixed order. It only learns weights;
//! prediction from them is `model`'s.

/// A training problem: sparse rows and their labels.
pub(crate) struct Problem<'a> {
    /// Each row's features as (bucket, value), buckets below `dimension`.
    pub rows: &'a [Vec<(u32, f64)>],
    /// Each row's label, a small integer.
    pub labels: &'a [usize],
    /// A multiplier of `cost` for the rows of each label (indexed by label; missing means 1),
    /// LIBLINEAR's `-wi`.
    pub class_weights: &'a [f64],
    /// The trade-off between the loss and the regularisation, LIBLINEAR's `-c`.
    pub cost: f64,
    /// LIBLINEAR's `-e`: the solver stops when the gradient's norm has fallen to
    /// `tolerance * max(min(positives, negatives), 1) / rows` of its norm at zero.
    pub tolerance: f64,
    /// The number of feature buckets.
    pub dimension: usize,
}

/// What training learned: a linear decision function per class.
#[derive(Debug, PartialEq)]
pub(crate) struct Learned {
    /// The labels, in order of their first row (LIBLINEAR's order).
    pub classes: Vec<usize>,
    /// Per class, one weight per bucket (`dimension` of them).
    pub weights: Vec<Vec<f64>>,
    /// Per class, the weight of the constant bias feature.
    pub biases: Vec<f64>,
}

/// Trains one decision function per class. With two classes one weight vector is learned, the
/// first class's rows positive, and the second class's function is its negation; with more,
/// each class is learned against all the others, its own rows weighted by its class weight and
/// the others by plain `cost` (so LIBLINEAR does it).
pub(crate) fn train(problem: &Problem<'_>) -> Learned {
    let classes = classes_by_first_row(problem.labels);
    let order = rows_grouped_by_class(problem.labels, &classes);
    let columns = Columns::of(problem, &order);
    let weighted_cost = |label: usize| problem.cost * problem.class_weights.get(label).copied().unwrap_or(1.0);
    let solve = |positive: usize, positive_cost: f64, negative_cost: f64| {
        let signs: Vec<f64> =
            order.iter().map(|&row| if problem.labels[row] == positive { 1.0 } else { -1.0 }).collect();
        let costs: Vec<f64> =
            signs.iter().map(|&sign| if sign > 0.0 { positive_cost } else { negative_cost }).collect();
        let positives = signs.iter().filter(|&&sign| sign > 0.0).count();
        let smaller_side = positives.min(signs.len() - positives).max(1);
        let tolerance = problem.tolerance * smaller_side as f64 / signs.len() as f64;
        let mut loss = Logistic::new(&columns.rows, signs, costs);
        minimise(&mut loss, columns.count, columns.nominal_count, tolerance)
    };
    let solutions: Vec<Vec<f64>> = if classes.len() == 2 {
        let solution = solve(classes[0], weighted_cost(classes[0]), weighted_cost(classes[1]));
        let negated = solution.iter().map(|weight| -weight).collect();
        vec![solution, negated]
    } else {
        classes.iter().map(|&class| solve(class, weighted_cost(class), problem.cost)).collect()
    };
    let (weights, biases) = solutions.iter().map(|solution| columns.spread(solution, problem.dimension)).unzip();
    Learned { classes, weights, biases }
}

/// The distinct labels in order of their first appearance.
fn classes_by_first_row(labels: &[usize]) -> Vec<usize> {
    let mut classes = Vec::new();
    for &label in labels {
        if !classes.contains(&label) {
            classes.push(label);
        }
    }
    classes
}

/// Row indices with the rows of each class together, classes in `classes` order, rows in their
/// own order within a class: LIBLINEAR trains on its rows in this order, and the order of a sum
/// decides its last bits.
fn rows_grouped_by_class(labels: &[usize], classes: &[usize]) -> Vec<usize> {
    classes.iter().flat_map(|&class| (0..labels.len()).filter(move |&row| labels[row] == class)).collect()
}

/// The rows rewritten over the buckets some row uses, numbered in bucket order, with the bias
/// as one more column of value 1 at the end of every row. The weight of a bucket no row uses
/// stays zero throughout TRON (its gradient is its weight), so leaving such buckets out changes
/// no result and saves passes over a mostly empty vector.
struct Columns {
    rows: Vec<Vec<(u32, f64)>>,
    /// The bucket of each column but the bias.
    buckets: Vec<u32>,
    /// The number of columns, the bias included.
    count: usize,
    /// The number of variables LIBLINEAR would have: every bucket up to the last one used, and
    /// the bias. It bounds the conjugate-gradient steps.
    nominal_count: usize,
}

impl Columns {
    fn of(problem: &Problem<'_>, order: &[usize]) -> Columns {
        let mut column_of = vec![u32::MAX; problem.dimension];
        for row in problem.rows {
            for &(bucket, _) in row {
                column_of[bucket as usize] = 0;
            }
        }
        let mut buckets = Vec::new();
        for (bucket, column) in column_of.iter_mut().enumerate() {
            if *column == 0 {
                *column = buckets.len() as u32;
                buckets.push(bucket as u32);
            }
        }
        let bias = buckets.len() as u32;
        let rows = order
            .iter()
            .map(|&row| {
                let features = problem.rows[row].iter().map(|&(bucket, value)| (column_of[bucket as usize], value));
                features.chain([(bias, 1.0)]).collect()
            })
            .collect();
        let nominal_count = buckets.last().map_or(0, |&last| last as usize + 1) + 1;
        Columns { rows, count: buckets.len() + 1, buckets, nominal_count }
    }

    /// A solution over the columns as one weight per bucket, and the bias.
    fn spread(&self, solution: &[f64], dimension: usize) -> (Vec<f64>, f64) {
        let mut weights = vec![0.0; dimension];
        for (&bucket, &weight) in self.buckets.iter().zip(solution) {
            weights[bucket as usize] = weight;
        }
        (weights, solution[self.buckets.len()])
    }
}

/// The objective `0.5 * |w|² + Σ cost_i * ln(1 + exp(-sign_i * x_i·w))` and what TRON needs of
/// it. `value` keeps each row's margin `x_i·w`; `gradient` reads them, so it must follow `value`
/// at the same point, and it keeps each row's curvature, which the Hessian products and the
/// preconditioner read.
struct Logistic<'a> {
    rows: &'a [Vec<(u32, f64)>],
    signs: Vec<f64>,
    costs: Vec<f64>,
    margins: Vec<f64>,
    /// σ(1 - σ) of each row's signed margin at the last gradient's point.
    curvatures: Vec<f64>,
}

impl<'a> Logistic<'a> {
    fn new(rows: &'a [Vec<(u32, f64)>], signs: Vec<f64>, costs: Vec<f64>) -> Logistic<'a> {
        let count = rows.len();
        Logistic { rows, signs, costs, margins: vec![0.0; count], curvatures: vec![0.0; count] }
    }

    fn value(&mut self, weights: &[f64]) -> f64 {
        let mut value = dot(weights, weights) / 2.0;
        for (i, row) in self.rows.iter().enumerate() {
            self.margins[i] = sparse_dot(weights, row);
            let signed = self.signs[i] * self.margins[i];
            // ln(1 + e^-m), written so that e^x never overflows.
            let loss = if signed >= 0.0 { (-signed).exp().ln_1p() } else { signed.exp().ln_1p() - signed };
            value += self.costs[i] * loss;
        }
        value
    }

    fn gradient(&mut self, weights: &[f64], gradient: &mut [f64]) {
        gradient.copy_from_slice(weights);
        for (i, row) in self.rows.iter().enumerate() {
            let sigma = 1.0 / (1.0 + (-self.signs[i] * self.margins[i]).exp());
            self.curvatures[i] = sigma * (1.0 - sigma);
            sparse_add(self.costs[i] * (sigma - 1.0) * self.signs[i], row, gradient);
        }
    }

    /// The Hessian at the last gradient's point times `direction`.
    fn hessian_times(&self, direction: &[f64], product: &mut [f64]) {
        product.copy_from_slice(direction);
        for (i, row) in self.rows.iter().enumerate() {
            let along = self.costs[i] * self.curvatures[i] * sparse_dot(direction, row);
            sparse_add(along, row, product);
        }
    }

    /// The Hessian's diagonal at the last gradient's point, mixed with the identity as TRON
    /// uses it: 99% identity, so the preconditioner never strays far from plain CG.
    fn preconditioner(&self, diagonal: &mut [f64]) {
        diagonal.fill(1.0);
        for (i, row) in self.rows.iter().enumerate() {
            for &(column, value) in row {
                diagonal[column as usize] += value * value * self.costs[i] * self.curvatures[i];
            }
        }
        for entry in diagonal.iter_mut() {
            *entry = (1.0 - PRECONDITIONER_SHARE) + PRECONDITIONER_SHARE * *entry;
        }
    }
}

/// How much of the Hessian's diagonal the preconditioner takes (LIBLINEAR's `alpha_pcg`).
const PRECONDITIONER_SHARE: f64 = 0.01;
/// The most Newton iterations (LIBLINEAR's default `max_iter`).
const MAX_ITERATIONS: usize = 1000;
/// The conjugate-gradient steps stop when the preconditioned residual has fallen to this share
/// of its first value (LIBLINEAR's `eps_cg` from a zero start).
const CG_TOLERANCE: f64 = 0.1;

/// TRON from zero: returns the weights at which the gradient's norm has fallen to `tolerance` of
/// its norm at zero (or the search can make no more progress).
fn minimise(loss: &mut Logistic<'_>, count: usize, nominal_count: usize, tolerance: f64) -> Vec<f64> {
    // When to accept a step and how to change the trust region, by the ratio of the actual to
    // the predicted reduction.
    const ACCEPT: f64 = 1e-4;
    const POOR: f64 = 0.25;
    const GOOD: f64 = 0.75;
    const SHRINK_MOST: f64 = 0.25;
    const SHRINK: f64 = 0.5;
    const GROW: f64 = 4.0;

    let max_cg_steps = nominal_count.max(5);
    let mut weights = vec![0.0; count];
    let mut gradient = vec![0.0; count];
    let mut value = loss.value(&weights);
    loss.gradient(&weights, &mut gradient);
    // The start is zero, so this is also the norm at zero the stopping rule compares with.
    let first_norm = norm(&gradient);
    if first_norm <= tolerance * first_norm {
        return weights;
    }
    let mut scaling = vec![0.0; count];
    loss.preconditioner(&mut scaling);
    let mut radius = scaled_dot(&gradient, &scaling, &gradient).sqrt();

    let mut step = vec![0.0; count];
    let mut residual = vec![0.0; count];
    let mut candidate = vec![0.0; count];
    let mut iteration = 1;
    let mut radius_adjusted = false;
    while iteration <= MAX_ITERATIONS {
        let reached_boundary = truncated_cg(loss, radius, &gradient, &scaling, &mut step, &mut residual, max_cg_steps);
        for ((new, old), change) in candidate.iter_mut().zip(&weights).zip(&step) {
            *new = old + change;
        }
        let along_gradient = dot(&gradient, &step);
        let predicted = -0.5 * (along_gradient - dot(&step, &residual));
        let candidate_value = loss.value(&candidate);
        let actual = value - candidate_value;

        let step_norm = scaled_dot(&step, &scaling, &step).sqrt();
        if iteration == 1 && !radius_adjusted {
            radius = radius.min(step_norm);
            radius_adjusted = true;
        }
        // The step length at which a quadratic through the values and the slope along the step
        // would be least, as a multiple of the step.
        let curvature_excess = candidate_value - value - along_gradient;
        let alpha =
            if curvature_excess <= 0.0 { GROW } else { SHRINK_MOST.max(-0.5 * (along_gradient / curvature_excess)) };
        radius = if actual < ACCEPT * predicted {
            (alpha * step_norm).min(SHRINK * radius)
        } else if actual < POOR * predicted {
            (SHRINK_MOST * radius).max((alpha * step_norm).min(SHRINK * radius))
        } else if actual < GOOD * predicted {
            (SHRINK_MOST * radius).max((alpha * step_norm).min(GROW * radius))
        } else if reached_boundary {
            GROW * radius
        } else {
            radius.max((alpha * step_norm).min(GROW * radius))
        };

        if actual > ACCEPT * predicted {
            iteration += 1;
            std::mem::swap(&mut weights, &mut candidate);
            value = candidate_value;
            // `loss` last saw the candidate, now `weights`, as `gradient` requires.
            loss.gradient(&weights, &mut gradient);
            loss.preconditioner(&mut scaling);
            if norm(&gradient) <= tolerance * first_norm {
                break;
            }
        }
        if value < -1.0e32 || predicted <= 0.0 {
            break;
        }
        if actual.abs() <= 1.0e-12 * value.abs() && predicted.abs() <= 1.0e-12 * value.abs() {
            break;
        }
    }
    weights
}

/// Approximately solves `H step = -gradient` by preconditioned conjugate gradients inside the
/// trust region `|step|_M <= radius`; leaves `residual = -gradient - H step` and tells whether the
/// step stopped at the region's boundary.
fn truncated_cg(
    loss: &Logistic<'_>,
    radius: f64,
    gradient: &[f64],
    scaling: &[f64],
    step: &mut [f64],
    residual: &mut [f64],
    max_steps: usize,
) -> bool {
    let count = gradient.len();
    step.fill(0.0);
    for (r, g) in residual.iter_mut().zip(gradient) {
        *r = -g;
    }
    let mut preconditioned: Vec<f64> = residual.iter().zip(scaling).map(|(r, m)| r / m).collect();
    let mut direction = preconditioned.clone();
    let mut product = vec![0.0; count];
    let mut residual_product = dot(&preconditioned, residual);
    let stop_at = CG_TOLERANCE * residual_product.sqrt();
    for _ in 0..max_steps {
        if residual_product.sqrt() <= stop_at {
            break;
        }
        loss.hessian_times(&direction, &mut product);
        let length = residual_product / dot(&direction, &product);
        add_scaled(length, &direction, step);
        if scaled_dot(step, scaling, step).sqrt() > radius {
            // Back to the last step inside, then along the direction to the boundary: the
            // positive root of |step + τ·direction|_M = radius.
            add_scaled(-length, &direction, step);
            let step_direction = scaled_dot(step, scaling, &direction);
            let step_step = scaled_dot(step, scaling, step);
            let direction_direction = scaled_dot(&direction, scaling, &direction);
            let radius_squared = radius * radius;
            let root = (step_direction * step_direction + direction_direction * (radius_squared - step_step)).sqrt();
            let to_boundary = if step_direction >= 0.0 {
                (radius_squared - step_step) / (step_direction + root)
            } else {
                (root - step_direction) / direction_direction
            };
            add_scaled(to_boundary, &direction, step);
            add_scaled(-to_boundary, &product, residual);
            return true;
        }
        add_scaled(-length, &product, residual);
        for ((z, r), m) in preconditioned.iter_mut().zip(residual.iter()).zip(scaling) {
            *z = r / m;
        }
        let next_product = dot(&preconditioned, residual);
        let beta = next_product / residual_product;
        for (d, z) in direction.iter_mut().zip(&preconditioned) {
            *d = beta * *d + z;
        }
        residual_product = next_product;
    }
    false
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `a·diag(m)·b`.
fn scaled_dot(a: &[f64], m: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(m).zip(b).map(|((x, s), y)| x * s * y).sum()
}

fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `y += a·x`.
fn add_scaled(a: f64, x: &[f64], y: &mut [f64]) {
    for (target, value) in y.iter_mut().zip(x) {
        *target += a * value;
    }
}

fn sparse_dot(dense: &[f64], row: &[(u32, f64)]) -> f64 {
    row.iter().map(|&(column, value)| dense[column as usize] * value).sum()
}

/// `dense += a·row`.
fn sparse_add(a: f64, row: &[(u32, f64)], dense: &mut [f64]) {
    for &(column, value) in row {
        dense[column as usize] += a * value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIMENSION: usize = 8;

    fn problem<'a>(rows: &'a [Vec<(u32, f64)>], labels: &'a [usize], class_weights: &'a [f64]) -> Problem<'a> {
        Problem { rows, labels, class_weights, cost: 4.0, tolerance: 0.01, dimension: DIMENSION }
    }

    /// Three classes, each with a word of its own, and a word all share.
    fn three_classes() -> (Vec<Vec<(u32, f64)>>, Vec<usize>) {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..12 {
            let class = i % 3;
            let own = (1 + class) as u32;
            rows.push(vec![(0, 0.5), (own, 1.0), (5 + (i % 2) as u32, 0.3)]);
            labels.push(class * 2);
        }
        (rows, labels)
    }

    /// The score of a row under one learned class.
    fn decision(learned: &Learned, class: usize, row: &[(u32, f64)]) -> f64 {
        learned.biases[class]
            + row.iter().map(|&(bucket, value)| value * learned.weights[class][bucket as usize]).sum::<f64>()
    }

    /// The gradient of class `class`'s one-vs-rest objective at `weights` (buckets, then the
    /// bias), computed from its definition.
    fn objective_gradient(problem: &Problem<'_>, positive: usize, negative_cost: f64, weights: &[f64]) -> Vec<f64> {
        let mut gradient = weights.to_vec();
        for (row, &label) in problem.rows.iter().zip(problem.labels) {
            let (sign, cost) = if label == positive {
                (1.0, problem.cost * problem.class_weights[label])
            } else {
                (-1.0, negative_cost)
            };
            let margin = weights[DIMENSION] + row.iter().map(|&(b, v)| v * weights[b as usize]).sum::<f64>();
            let pull = cost * sign * (1.0 / (1.0 + (-sign * margin).exp()) - 1.0);
            for &(bucket, value) in row {
                gradient[bucket as usize] += pull * value;
            }
            gradient[DIMENSION] += pull;
        }
        gradient
    }

    #[test]
    fn training_is_deterministic() {
        let (rows, labels) = three_classes();
        let weights = [1.0, 1.0, 2.0, 1.0, 0.5];
        assert_eq!(train(&problem(&rows, &labels, &weights)), train(&problem(&rows, &labels, &weights)));
    }

    #[test]
    fn separable_classes_are_learned_in_order_of_their_first_row() {
        let (rows, labels) = three_classes();
        let learned = train(&problem(&rows, &labels, &[1.0; 5]));
        assert_eq!(learned.classes, vec![0, 2, 4]);
        for (row, label) in rows.iter().zip(&labels) {
            let best = (0..3).fold(0, |best, class| {
                if decision(&learned, class, row) > decision(&learned, best, row) { class } else { best }
            });
            assert_eq!(learned.classes[best], *label, "{row:?}");
        }
        assert!(learned.weights.iter().all(|weights| weights[7] == 0.0), "a bucket no row uses keeps weight zero");
    }

    #[test]
    fn the_gradient_vanishes_at_the_solution() {
        let (rows, labels) = three_classes();
        let class_weights = [1.5, 1.0, 0.5, 1.0, 2.0];
        let tight = Problem { tolerance: 1e-8, ..problem(&rows, &labels, &class_weights) };
        let learned = train(&tight);
        for (class, &label) in learned.classes.iter().enumerate() {
            let mut solution = learned.weights[class].clone();
            solution.push(learned.biases[class]);
            // One-vs-rest: the class's rows cost C times its weight, the others plain C.
            let at_solution = objective_gradient(&tight, label, tight.cost, &solution);
            let at_zero = objective_gradient(&tight, label, tight.cost, &[0.0; DIMENSION + 1]);
            assert!(norm(&at_solution) <= 1e-8 * norm(&at_zero), "class {label}: {at_solution:?}");
        }
    }

    #[test]
    fn a_symmetric_pair_reaches_the_optimum_of_its_one_dimensional_equation() {
        // x = +1 positive, x = -1 negative: by symmetry the bias is zero and the weight solves
        // w = 2C / (1 + e^w), found here by bisection.
        let rows = [vec![(0, 1.0)], vec![(0, -1.0)]];
        let labels = [0, 1];
        let cost = 4.0;
        let learned = train(&Problem { cost, tolerance: 1e-10, ..problem(&rows, &labels, &[]) });
        let (mut low, mut high) = (0.0f64, 2.0 * cost);
        for _ in 0..100 {
            let middle = (low + high) / 2.0;
            if middle < 2.0 * cost / (1.0 + middle.exp()) { low = middle } else { high = middle }
        }
        assert!((learned.weights[0][0] - low).abs() < 1e-9, "{} against {low}", learned.weights[0][0]);
        assert!(learned.biases[0].abs() < 1e-9);
    }

    #[test]
    fn two_classes_share_one_vector_and_its_negation() {
        let rows = [vec![(0, 1.0), (3, 0.2)], vec![(1, 1.0)], vec![(0, 0.7)], vec![(1, 0.9), (3, 0.2)]];
        let learned = train(&problem(&rows, &[3, 1, 3, 1], &[]));
        assert_eq!(learned.classes, vec![3, 1]);
        let negated: Vec<f64> = learned.weights[0].iter().map(|weight| -weight).collect();
        assert_eq!(learned.weights[1], negated);
        assert_eq!(learned.biases[1], -learned.biases[0]);
        assert!(decision(&learned, 0, &rows[0]) > 0.0 && decision(&learned, 0, &rows[1]) < 0.0);
    }

    #[test]
    fn a_class_weight_shifts_the_decision_towards_its_class() {
        // Two rows with the same features and different labels: alike weights leave the decision
        // on the fence; weighting one class pulls it to that class.
        let rows = [vec![(2, 1.0)], vec![(2, 1.0)]];
        let labels = [0, 1];
        let score = |class_weights: &[f64]| decision(&train(&problem(&rows, &labels, class_weights)), 0, &rows[0]);
        assert!(score(&[1.0, 1.0]).abs() < 1e-6);
        assert!(score(&[3.0, 1.0]) > 0.5);
        assert!(score(&[1.0, 3.0]) < -0.5);
    }

    #[test]
    fn each_one_vs_rest_vector_solves_its_class_against_the_rest() {
        // In one-vs-rest the other classes' rows cost plain C whatever their class weights:
        // each vector is the two-class solution of its class against a "rest" of weight one.
        let (rows, labels) = three_classes();
        let class_weights = [2.0, 1.0, 0.5, 1.0, 3.0, 1.0];
        let all = train(&Problem { tolerance: 1e-10, ..problem(&rows, &labels, &class_weights) });
        for (class, &label) in all.classes.iter().enumerate() {
            let against_rest: Vec<usize> = labels.iter().map(|&other| if other == label { label } else { 5 }).collect();
            let pair = train(&Problem { tolerance: 1e-10, ..problem(&rows, &against_rest, &class_weights) });
            // Whichever of the two came first, the class's own function is its row of `pair`.
            let own = pair.classes.iter().position(|&c| c == label).expect("the class is one of the pair");
            assert!((pair.biases[own] - all.biases[class]).abs() < 1e-8);
            for (ours, theirs) in pair.weights[own].iter().zip(&all.weights[class]) {
                assert!((ours - theirs).abs() < 1e-8, "class {label}: {ours} against {theirs}");
            }
        }
    }
}
