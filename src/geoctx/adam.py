"""Keras's Adam update, on every weight at once.

Keras's Adam (``keras.optimizers.Adam``) updates one weight variable at a
time, with a dozen small ops each, and computes the step size again for
each. On the study's small models those ops cost more than the arithmetic:
a width-64 depth-8 MLP has 18 weight variables, so about 300 optimizer ops
a batch, more than its forward and backward pass. The same formulas on one
flat vector of all the weights compute the same numbers, bit for bit
(an elementwise float op gives each element the same result whatever array
it is part of), with one step size a batch and a dozen ops on the whole
vector, then one assignment per variable: the depth-8 model's batch loop
shrinks from 965 graph nodes to 464, and its training from about 2.0 to
1.6-1.75 CPU seconds per 200 epochs (``benchmarks/training_speed.py``).

:func:`step_size` and :func:`update` are Keras's formulas in its order of
operations; the learning-rate tuning stack (:mod:`geoctx.stacked`) applies
them to its models' stacked weights and :class:`FlatAdam` to a Keras
model's variables (:mod:`geoctx.training`).
"""

from __future__ import annotations

import math

__all__ = ["FlatAdam", "step_size", "update"]


def step_size(rates, iterations, *, beta_1: float, beta_2: float):
    """Adam's step size at the step after ``iterations``:
    ``rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, ``t = iterations + 1``,
    in float32 as Keras computes it; ``rates`` may hold one rate per model."""
    import tensorflow as tf

    step = tf.cast(iterations + 1, tf.float32)
    return rates * tf.sqrt(1 - tf.pow(beta_2, step)) / (1 - tf.pow(beta_1, step))


def update(grads, moments, velocities, alpha, *, beta_1, beta_2, epsilon):
    """Update the ``moments`` and ``velocities`` variables with ``grads`` and
    return the step to subtract from the weights, ``alpha`` (of
    :func:`step_size`, broadcast to the weights) times the moments over the
    root of the velocities plus ``epsilon``."""
    import tensorflow as tf

    moments.assign_add((grads - moments) * (1 - beta_1))
    velocities.assign_add((tf.square(grads) - velocities) * (1 - beta_2))
    return (moments * alpha) / (tf.sqrt(velocities) + epsilon)


class FlatAdam:
    """A Keras Adam optimizer's update of its variables, as one flat vector.

    Holds the optimizer's moments and velocities as two flat variables
    while it trains; :meth:`apply` (in a compiled graph) takes one Adam
    step, :meth:`reset` starts from a fresh state and :meth:`store` writes
    the state back into the optimizer's own variables, so the optimizer
    (and a saved model) holds what ``optimizer.apply`` would have left.
    Only for a plain Adam (:meth:`of`).
    """

    def __init__(self, optimizer, variables):
        import tensorflow as tf

        self.optimizer = optimizer
        self.variables = list(variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        self.sizes = [math.prod(shape) for shape in self.shapes]
        total = sum(self.sizes)
        self.moments = tf.Variable(tf.zeros([total]), trainable=False)
        self.velocities = tf.Variable(tf.zeros([total]), trainable=False)
        self.reset()

    @classmethod
    def of(cls, optimizer, variables) -> FlatAdam | None:
        """The flat update of ``optimizer`` over ``variables`` (building the
        optimizer on them if it is not built yet), or None unless it is a
        plain ``keras.optimizers.Adam``: a fixed learning rate (a variable),
        no AMSGrad, weight decay, gradient clipping, EMA, gradient
        accumulation, loss scaling or weight constraints."""
        import keras

        optimizer.build(variables)  # Keras builds once; later calls return

        plain = (
            type(optimizer) is keras.optimizers.Adam
            and isinstance(optimizer._learning_rate, keras.Variable)
            and not optimizer.amsgrad
            and optimizer.weight_decay is None
            and optimizer.clipnorm is None
            and optimizer.global_clipnorm is None
            and optimizer.clipvalue is None
            and not optimizer.use_ema
            and not optimizer.gradient_accumulation_steps
            and optimizer.loss_scale_factor is None
            and all(v.constraint is None for v in variables)
        )
        return cls(optimizer, variables) if plain else None

    def _slots(self):
        # Keras's own per-variable state (private names of the pinned Keras;
        # tests/test_adam.py fails if they stop holding what apply updates)
        index = self.optimizer._get_variable_index
        return (
            [self.optimizer._momentums[index(v)] for v in self.variables],
            [self.optimizer._velocities[index(v)] for v in self.variables],
        )

    def reset(self) -> None:
        """Start from the state in the optimizer's own moments and
        velocities (zeros in a fresh optimizer)."""
        import tensorflow as tf

        for flat, slots in zip(
            (self.moments, self.velocities), self._slots(), strict=True
        ):
            flat.assign(tf.concat([tf.reshape(s, [-1]) for s in slots], 0))

    def store(self) -> None:
        """Write the flat state into the optimizer's moments and velocities."""
        import tensorflow as tf

        for flat, slots in zip(
            (self.moments, self.velocities), self._slots(), strict=True
        ):
            for slot, piece in zip(slots, tf.split(flat, self.sizes), strict=True):
                slot.assign(tf.reshape(piece, slot.shape))

    def apply(self, grads) -> None:
        """One Adam step of the variables with ``grads`` (one per variable),
        as ``optimizer.apply(grads, variables)`` takes it."""
        import tensorflow as tf

        opt = self.optimizer
        alpha = step_size(
            tf.cast(opt.learning_rate, tf.float32),
            opt.iterations,
            beta_1=opt.beta_1,
            beta_2=opt.beta_2,
        )
        flat = tf.concat([tf.reshape(g, [-1]) for g in grads], 0)
        delta = update(
            flat,
            self.moments,
            self.velocities,
            alpha,
            beta_1=opt.beta_1,
            beta_2=opt.beta_2,
            epsilon=opt.epsilon,
        )
        pieces = tf.split(delta, self.sizes)
        for variable, piece, shape in zip(
            self.variables, pieces, self.shapes, strict=True
        ):
            variable.assign_sub(tf.reshape(piece, shape))
        opt.iterations.assign_add(1)
