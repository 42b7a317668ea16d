"""What the compiled steps' resume tests share: a fit stopped mid-epoch and resumed from its
state must end with the weights of the fit that ran through (`TrainingState`, issue 12)."""

from __future__ import annotations

import glassnet as gn


def stop_and_resume(make_model, X, y, stop_after: int, watch: gn.Callback):
    """Two epochs of Adam (seed 3, kernel "numba") three ways: straight through; stopped after
    batch ``stop_after`` of the first epoch; and a fresh model given the stopped one's weights,
    optimizer state and `TrainingState`, resumed with ``watch`` as callback. Returns the
    (whole, resumed) models and the state the stop kept."""

    class StopAt(gn.Callback):
        def on_batch_end(self, batch, logs):
            if batch == stop_after and self.model.history is None:  # only in the first fit
                self.state = self.model.training_state()
                self.model.stop_training = True

    def fresh():
        model = make_model()
        return model, gn.Adam(model.parameters(), learning_rate=1e-3)

    whole, optimizer = fresh()
    whole.fit(X, y, epochs=2, optimizer=optimizer, seed=3, kernel="numba")
    stopped, optimizer = fresh()
    stop = StopAt()
    stopped.fit(X, y, epochs=2, optimizer=optimizer, seed=3, kernel="numba", callbacks=[stop])
    resumed, optimizer = fresh()
    resumed.set_weights(stopped.get_weights())
    optimizer.load_state_dict(stopped.optimizer.state_dict())
    resumed.fit(X, y, epochs=2, optimizer=optimizer, seed=3, kernel="numba", resume=stop.state,
                callbacks=[watch])  # fmt: skip
    return whole, resumed, stop.state
