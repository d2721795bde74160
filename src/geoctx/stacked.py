"""Models of one architecture trained side by side in one compiled graph.

The learning-rate grid's models of one cell (:mod:`geoctx.tuning`) train
together, in one compiled graph (:class:`Stack`): their weights are stacked
along a leading model axis and every layer is one batched matrix product,
which runs small models several times faster than one by one. Each stacked
model starts from the weights :func:`geoctx.training.train_model` would
give its seed, sees the batches in the same order and takes Adam steps with
Keras's formulas, so it computes what that model would alone, up to float
rounding (``tests/test_tuning.py``). That rounding depends on which models
share the stack at each step, and on a deep network near a plateau it can
grow into a different run: a rate's result is reproducible for the same
grid and tuning seeds, not across grids. A model whose loss has converged
or become non-finite leaves the stack while the others go on, so a stack
costs what its unfinished models cost. Only Adam is stacked.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from geoctx.recent import Recent

# activation, weight shapes and batch size -> Stack, for this process
_STACKS: Recent = Recent()


def stack_of(weights, *, rates, activation: str, batch_size: int) -> Stack:
    """A stack of these models, reusing this process's traced graphs of the
    architecture if it has them (a worker kept across tuning jobs)."""
    key = (activation, tuple(tuple(w.shape) for w in weights[0]), batch_size)
    if key not in _STACKS:
        _STACKS[key] = Stack(
            weights, rates=rates, activation=activation, batch_size=batch_size
        )
    else:
        _STACKS[key].reset(weights, rates=rates)
    return _STACKS[key]


class Stack:
    """Models of one architecture trained side by side in one graph.

    ``weights[m]`` are model ``m``'s Keras weights (kernel, bias per layer);
    ``rates[m]`` its Adam learning rate. Every model's weights are one row
    of a flat parameter matrix, so one Adam update serves all layers and
    models; the matrix's leading (model) axis has no fixed size, so models
    that stop leave the stack without a new trace.
    """

    def __init__(self, weights, *, rates, activation: str, batch_size: int):
        import inspect

        import keras
        import tensorflow as tf

        # the study's Adam is keras.optimizers.Adam with its defaults
        defaults = inspect.signature(keras.optimizers.Adam).parameters
        self.adam_defaults = {
            k: defaults[k].default for k in ("beta_1", "beta_2", "epsilon")
        }

        self.shapes = [tuple(w.shape) for w in weights[0]]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]

        def variable(shape, dtype=tf.float32):
            return tf.Variable(tf.zeros([0, *shape], dtype), shape=[None, *shape])

        self.params = variable([sum(self.sizes)])
        self.moments = variable([sum(self.sizes)])
        self.velocities = variable([sum(self.sizes)])
        self.rates = variable([])
        self.iterations = tf.Variable(0, dtype=tf.int64)
        self.activation = keras.activations.get(activation)
        self.batch_size = batch_size
        self._epochs = {}  # the data's shapes -> the compiled epoch
        self._logits = tf.function(self.logits)
        self.reset(weights, rates=rates)

    def reset(self, weights, *, rates) -> None:
        """Start over with these models, each at its initial weights with a
        fresh Adam state."""
        flat = np.stack([np.concatenate([np.ravel(w) for w in ws]) for ws in weights])
        self.n_models = len(weights)
        self.params.assign(flat.astype(np.float32))
        self.moments.assign(np.zeros_like(flat, dtype=np.float32))
        self.velocities.assign(np.zeros_like(flat, dtype=np.float32))
        self.rates.assign(np.asarray(rates, dtype=np.float32))
        self.iterations.assign(0)

    def keep(self, models) -> None:
        """Go on with only the rows ``models`` (their optimizer state too)."""
        import tensorflow as tf

        index = tf.constant(np.asarray(models, dtype=np.int64))
        for variable in (self.params, self.moments, self.velocities, self.rates):
            variable.assign(tf.gather(variable, index))

    def logits(self, x):
        """Every model's logits of ``x``, shaped ``(models, points, in)`` or
        ``(points, in)``."""
        import tensorflow as tf

        n_models = tf.shape(self.params)[0]
        h = x
        if len(h.shape) == 2:
            h = tf.broadcast_to(h[None], tf.concat([[n_models], tf.shape(h)], 0))
        pieces = tf.split(self.params, self.sizes, axis=1)
        layers = [
            tf.reshape(piece, [n_models, *shape])
            for piece, shape in zip(pieces, self.shapes, strict=True)
        ]
        n_layers = len(layers) // 2
        for i in range(n_layers):
            kernel, bias = layers[2 * i], layers[2 * i + 1]
            h = tf.matmul(h, kernel) + bias[:, None, :]
            if i < n_layers - 1:
                h = self.activation(h)
        return h

    @staticmethod
    def _losses_and_hits(logits, labels):
        import tensorflow as tf

        losses = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits), axis=1
        )
        hits = tf.argmax(logits, axis=2, output_type=labels.dtype) == labels
        return losses, tf.reduce_sum(tf.cast(hits, tf.float32), axis=1)

    def _adam(self, grads):
        from geoctx import adam

        # Keras's Adam update, in its order of operations, on every weight at once
        betas = {k: self.adam_defaults[k] for k in ("beta_1", "beta_2")}
        alpha = adam.step_size(self.rates, self.iterations, **betas)
        step = adam.update(
            grads, self.moments, self.velocities, alpha[:, None], **self.adam_defaults
        )
        self.params.assign_sub(step)
        self.iterations.assign_add(1)

    def _epoch_graph(self, x, y, orders):
        import tensorflow as tf

        n = int(x.shape[1])
        size = self.batch_size
        xs = tf.gather(x, orders, batch_dims=1)
        ys = tf.gather(y, orders, batch_dims=1)
        n_models = tf.shape(self.params)[0]  # not fixed: models leave
        loss_sum = tf.zeros([n_models])
        hits = tf.zeros([n_models])
        for i in tf.range(-(-n // size)):
            xb, yb = xs[:, i * size : (i + 1) * size], ys[:, i * size : (i + 1) * size]
            with tf.GradientTape() as tape:
                losses, batch_hits = self._losses_and_hits(self.logits(xb), yb)
                total = tf.reduce_sum(losses)
            self._adam(tape.gradient(total, self.params))
            loss_sum += losses * tf.cast(tf.shape(xb)[1], tf.float32)
            hits += batch_hits
        return loss_sum / n, hits / n

    def _epoch(self, x, y):
        """The epoch compiled for these stacked training arrays' shapes and
        any number of models (so one graph as models leave the stack)."""
        import tensorflow as tf

        from geoctx.autodiff import compiled_for

        # a split and an order per model, for any number of models
        signature = [
            tf.TensorSpec([None, *x.shape[1:]], x.dtype),
            tf.TensorSpec([None, *y.shape[1:]], y.dtype),
            tf.TensorSpec([None, x.shape[1]], tf.int64),
        ]
        return compiled_for(self._epochs, self._epoch_graph, signature)

    def fit(self, splits, settings, *, seeds: list[int]) -> list[pd.DataFrame]:
        """Train until every model has converged, diverged or hit the cap.

        Model ``m`` trains on ``splits[m]`` (its arrays) and draws its
        batch order from a generator seeded by ``seeds[m]``, as
        :func:`geoctx.training.train_model` does; a model that stops leaves
        the stack, which goes on with the others, and its final weights
        come back into the stack when all have stopped.
        Returns each model's history (``loss`` and ``accuracy`` per epoch
        it trained: the criterion is computed on the final weights, so
        validation is not evaluated every epoch).
        """
        import tensorflow as tf

        from geoctx.stopping import converged

        x, y = (
            tf.constant(np.stack([split[key] for split in splits]))
            for key in ("X_train", "y_train")
        )
        epoch = self._epoch(x, y)
        rngs = {seed: np.random.default_rng(seed) for seed in dict.fromkeys(seeds)}
        n = int(y.shape[1])
        active = list(range(self.n_models))  # the stack's rows, in order
        final = np.zeros((self.n_models, sum(self.sizes)), dtype=np.float32)
        names = ("loss", "accuracy")
        rows = [[] for _ in range(self.n_models)]
        for _ in range(settings.epochs):
            # one draw per distinct seed, shared by the models of that seed
            order = {seed: rng.permutation(n) for seed, rng in rngs.items()}
            orders = np.stack([order[seeds[m]] for m in active])
            values = epoch(x, y, tf.constant(orders))
            values = np.stack([v.numpy() for v in values], axis=1)
            stopped = []
            for row, m in enumerate(active):
                rows[m].append(dict(zip(names, map(float, values[row]), strict=True)))
                losses = [r["loss"] for r in rows[m]]
                accuracies = [r["accuracy"] for r in rows[m]]
                if not math.isfinite(losses[-1]) or converged(
                    losses, accuracies, **settings.convergence
                ):
                    stopped.append(row)
            if stopped:
                params = self.params.numpy()
                for row in stopped:
                    final[active[row]] = params[row]
                keep = [row for row in range(len(active)) if row not in stopped]
                active = [active[row] for row in keep]
                if not active:
                    break
                self.keep(keep)
                x, y = (tf.gather(a, keep) for a in (x, y))
        params = self.params.numpy()
        for row, m in enumerate(active):
            final[m] = params[row]
        self.params.assign(final)
        return [pd.DataFrame(r, columns=list(names)) for r in rows]

    def scores(
        self, splits, *, parts=("train", "val")
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{part: (losses, accuracies)}`` of every model on its own arrays
        of each split in ``parts`` (``splits[m]``, as in :meth:`fit`)."""
        import tensorflow as tf

        out = {}
        for part in parts:
            x, y = (
                tf.constant(np.stack([split[f"{key}_{part}"] for split in splits]))
                for key in ("X", "y")
            )
            losses, hits = self._losses_and_hits(self._logits(x), y)
            # whole hits over the points, in float64: equal counts compare equal
            counts = np.rint(hits.numpy()).astype(np.int64)
            out[part] = (losses.numpy().astype(np.float64), counts / int(y.shape[1]))
        return out
