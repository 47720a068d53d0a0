"""Keeping the work of the Linear Classifier tab: save / load a model (.npz through ``core.persistence``),
export the training history as CSV. A mixin of :class:`gui.linear_workspace.LinearWorkspace`: it uses the
workspace's ``controller``, ``controls``, ``inspector``, ``curves``, ``dataset`` and ``_show_message``.

Saving stops training first (the Trainer is then only touched by the GUI thread). Loading refuses a model
made for other data (``check_compatible``: image shape, number and names of classes) with a message, and
otherwise replaces the run: the model's W, its preprocessing (the saved mean image), hyperparameters,
seed and history; predictions are identical to the saved model's.
"""
from __future__ import annotations

from PySide6 import QtWidgets

from core.persistence import ModelFileError, check_compatible, load_model, save_model

__all__ = ["LinearFilesMixin", "HISTORY_HEADER"]

HISTORY_HEADER = ["model", "iteration", "epoch", "data_loss", "reg_loss", "total_loss", "batch_accuracy",
                  "train_accuracy", "val_accuracy", "epoch_end"]


class LinearFilesMixin:
    """Save model / Load model / Export history for the linear workspace."""

    def _current_model_name(self) -> str:
        names = list(self.controller.trainer.models)
        pick = self.inspector.current_model()
        return pick if pick in names else names[-1]

    def save_model_to(self, path: str, name: str | None = None) -> None:
        """Save one model (the inspector's choice by default) with its preprocessing and history."""
        ctl = self.controller
        if ctl.trainer is None:
            raise ValueError("there is no model to save: choose a data set first")
        ctl.stop(wait=True)
        name = name or self._current_model_name()
        save_model(path, ctl.trainer.models[name], preprocessor=ctl.features.preprocessor,
                   class_names=list(self.dataset.class_names), image_shape=self.dataset.image_shape,
                   dataset_name=self.dataset.name, history=list(ctl.trainer.history[name]))
        self.status_message.emit(f"Saved the {name} model to {path}", 5000)

    def load_model_from(self, path: str) -> None:
        """Load a saved model: its preprocessing, hyperparameters and history replace the current run."""
        if self.dataset is None:
            raise ValueError("choose a data set before loading a model")
        loaded = load_model(path)
        check_compatible(loaded, self.dataset)
        self.controller.load(loaded)
        m = loaded.model
        pre = loaded.preprocessor
        values = {"loss_mode": m.loss, "penalty": m.penalty, "reg": m.reg, "learning_rate": m.learning_rate,
                  "batch_size": m.batch_size, "init_scale": m.init_scale}
        if isinstance(m.random_state, int):
            values["seed"] = m.random_state
        if pre is not None:
            values.update(scale=bool(pre.scale), subtract_mean=bool(pre.subtract_mean))
        self.controls.set_values(values)
        self._show_message(f"Loaded the {m.loss} model from {path} ({len(loaded.history or [])} iterations of "
                           f"history). Press Play to keep training it.", "ok")

    def _ask_save(self) -> None:
        if self.controller.trainer is None:
            return
        name = None
        names = list(self.controller.trainer.models)
        if len(names) > 1:
            name, ok = QtWidgets.QInputDialog.getItem(self, "Save model", "Which model?", names,
                                                      names.index(self._current_model_name()), False)
            if not ok:
                return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save model", f"{name or names[0]}_model.npz",
                                                        "Model (*.npz)")
        if path:
            try:
                self.save_model_to(path, name)
            except (OSError, ValueError) as exc:
                self._show_message(f"Could not save: {exc}", "error")

    def _ask_load(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load model", "", "Model (*.npz)")
        if path:
            try:
                self.load_model_from(path)
            except (ModelFileError, OSError, ValueError) as exc:
                self._show_message(f"Could not load the model: {exc}", "error")

    def export_history_csv(self, path: str) -> None:
        self.controller.stop(wait=True)
        self.curves.export_csv(path)

    def table_for_export(self):
        ctl = self.controller
        if ctl.trainer is None:
            return None
        rows = []
        for name, h in ctl.histories.items():
            for r in h.records:
                rows.append([name, r.iteration, r.epoch, r.data_loss, r.reg_loss, r.total_loss, r.batch_accuracy,
                             "" if r.train_accuracy is None else r.train_accuracy,
                             "" if r.val_accuracy is None else r.val_accuracy, int(r.epoch_end)])
        return list(HISTORY_HEADER), rows
