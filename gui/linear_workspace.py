"""The Linear Classifier tab: train live (hinge, softmax or both), watch the loss curves, the weight
templates and one image's scores change while λ and the learning rate move.

Layout (built and sized by :class:`gui.linear_layout.LinearLayoutMixin`): controls on the left; on the right
a counters line and a message line (sanity check, divergence, notes), then the loss/accuracy curves beside the
weight templates, and the score inspector below. Saving/loading a model and exporting the history come
from :class:`gui.linear_files.LinearFilesMixin`.
The :class:`gui.train_controller.TrainController` owns the Trainer and the job; this widget only wires
controls to it and repaints from its buffers on a throttled timer: the curves, counters and templates together
at ~10 Hz, the accuracy plot and the score inspector at ~1 Hz while training.

Keys (when the tab is shown): Space play/pause, S one iteration, Shift+S one epoch, R reset.
"""
from __future__ import annotations

import re
import time

from PySide6 import QtCore, QtGui

from core import config
from gui.linear_controls import LinearControls
from gui.linear_files import LinearFilesMixin
from gui.linear_layout import LinearLayoutMixin
from gui.loss_curves import LossCurves, model_color
from gui.score_inspector import ScoreInspector
from gui.templates_view import TemplatesView
from gui.theme import style_for
from gui.train_controller import TrainController
from gui.workspace import Workspace

__all__ = ["LinearWorkspace"]

REPAINT_MS = 50            # timer tick: curves + templates every other tick (~10 Hz), the inspector between
INSPECTOR_SECONDS = 1.0    # while training, the score inspector follows at ~1 Hz (a table and two bar charts:
                           # numbers a student can read; each refresh costs SGD throughput)
ACCURACY_SECONDS = 1.0     # ... and the accuracy-per-epoch plot too (it changes only at epoch ends)
METRICS_SECONDS = 0.3      # the loss and accuracy numbers under the counters: ~3 Hz, readable as they change
MESSAGE_SECONDS = 15.0      # how long a tip or confirmation stays (errors and warnings stay)
_MESSAGE_STYLES = {
    "info": "background:#e8f1fb; color:#123; border:1px solid #9bbbe0;",
    "ok": "background:#e6f4e6; color:#143; border:1px solid #8fc18f;",
    "warn": "background:#fff4d6; color:#430; border:1px solid #e0c060;",
    "error": "background:#fde2e2; color:#600; border:1px solid #d08080;",
}


def _loss_of(mode: str) -> str:
    """Compare mode uses the softmax defaults for both models (only the loss differs)."""
    return "hinge" if mode == "hinge" else "softmax"


def _defaults_name(dataset) -> str:
    """The name to look the defaults up by: the catalog name when the data came from the catalog
    ("digits", "mnist", ...), else the display name (a folder's name, e.g. "yoongikim_jpg")."""
    src = str(getattr(dataset, "source", "") or "")
    return src if src and "/" not in src and "\\" not in src else dataset.name


class LinearWorkspace(LinearFilesMixin, LinearLayoutMixin, Workspace):
    """Train a linear classifier live; compare hinge and softmax from the same start."""

    title = "Linear Classifier"
    #: listed in Help > Keyboard shortcuts (rows already there are not repeated)
    shortcuts = [("Space", "Play / pause training"), ("S", "One training step"),
                 ("Shift+S", "Train to the end of the epoch"), ("R", "Reset the weights")]

    def __init__(self, runner, parent=None):
        super().__init__(runner, parent)
        d = config.DEFAULTS
        self.controller = TrainController(runner, self)
        self.controls = LinearControls(lr_values=d.learning_rate_values(), reg_values=d.reg_values(),
                                       batch_sizes=tuple(d.batch_sizes),
                                       init_values=config.nice_log_values(*d.init_scale_range, mantissas=(1, 3)))
        self.curves = LossCurves()
        self.curves.table_source = self.table_for_export
        self.templates = TemplatesView()
        self.inspector = ScoreInspector()

        self._build_layout()
        self._message_timer = QtCore.QTimer(self, singleShot=True, timeout=self.message.hide)

        c = self.controls
        c.play_clicked.connect(self.toggle_play)
        c.step_iteration_clicked.connect(self.step_iteration)
        c.step_epoch_clicked.connect(self.step_epoch)
        c.reset_clicked.connect(lambda: self.reset("Reset"))
        c.live_changed.connect(self._on_live)
        c.restart_changed.connect(self._on_restart)
        c.save_button.clicked.connect(self._ask_save)
        c.load_button.clicked.connect(self._ask_load)
        c.export_button.clicked.connect(self.curves._ask_csv)
        ctl = self.controller
        ctl.trainer_reset.connect(self._on_trainer_reset)
        ctl.state_changed.connect(self._on_state)
        ctl.diverged.connect(self._on_diverged)
        self._shortcuts = {}
        for key, fn in (("Space", self.toggle_play), ("S", self.step_iteration),
                        ("Shift+S", self.step_epoch), ("R", lambda: self.reset("Reset"))):
            sc = QtGui.QShortcut(QtGui.QKeySequence(key), self)
            sc.setContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(fn)
            self._shortcuts[key] = sc

        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(REPAINT_MS)
        self._timer.timeout.connect(self.repaint_now)
        self._timer.start()
        self._phase = 0
        self._last_inspector = 0.0
        self._last_accuracy = 0.0
        self._last_metrics = 0.0
        self._inspector_dirty = False
        self.controls.set_training_enabled(False)
        self._show_message("Choose a data set in the data bar to start.", "info")

    # ------------------------------------------------------------------ data set
    def set_dataset(self, dataset, *, val_fraction: float = 0.1, seed: int = 0) -> None:
        super().set_dataset(dataset, val_fraction=val_fraction, seed=seed)
        self.templates.close_dialog()
        self.controller.set_dataset(dataset, val_fraction, seed)
        self.controls.set_training_enabled(dataset is not None)
        if dataset is None:
            self.counters.setText("No data set.")
            self.metrics.setText("")
            self.sanity_label.setText("")
            self.curves.set_models([])
            self.templates.set_layout([], [], (1, 1, 1))
            self.inspector.set_data(None, None, None, [])
            return
        mode = self.controls.values()["loss_mode"]
        defaults = config.training_defaults(_defaults_name(dataset), _loss_of(mode))
        values = {k: defaults[k] for k in ("penalty", "reg", "learning_rate", "batch_size", "init_scale",
                                           "scale", "subtract_mean")}
        values.update(loss_mode=mode, seed=int(seed), epoch_limit=int(defaults.get("epochs", 0)))
        self.controls.set_values(values)
        self._mode = mode
        self.inspector.set_data(dataset.X_test, dataset.y_test, None, dataset.class_names)
        self.inspector.fit_in(self._splitters[1], grow_only=True)
        self.reset(None)
        self._show_message(f"{dataset.summary()} — defaults for this data set loaded: learning rate "
                           f"{self.controls.lr_slider.label.text()}, λ {self.controls.reg_slider.label.text()}, "
                           f"batch {self.controls.values()['batch_size']}. Press Play (Space).", "info")

    # ------------------------------------------------------------------ actions
    def reset(self, why: str | None = "Reset") -> None:
        if self.dataset is None:
            return
        self.controls.flush()
        self.controller.reset(self._trainer_params())
        if why:
            self._show_message(f"{why}: new initial W from seed {self.controls.values()['seed']}; curves cleared.",
                               "info")

    def _trainer_params(self) -> dict:
        v = self.controls.values()
        v.pop("epoch_limit", None)
        return v

    def toggle_play(self) -> None:
        if self.dataset is None:
            return
        if self.controller.running:
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self.controller.trainer is None:
            return
        self.controls.flush()
        self.controller.play(self.controls.values()["epoch_limit"])

    def pause(self) -> None:
        self.controller.stop(wait=True)
        self.repaint_now(force=True)

    def step_iteration(self) -> None:
        if self.controller.trainer is not None and not self.controller.running:
            self.controls.flush()
            self.controller.step_iterations(1)

    def step_epoch(self) -> None:
        if self.controller.trainer is not None and not self.controller.running:
            self.controls.flush()
            self.controller.step_epoch()

    def _on_live(self, values: dict) -> None:
        self.controller.set_live(**values)
        when = "at the next step" if self.controller.running else "from the next step"
        self.status_message.emit(f"λ = {values['reg']:g} ({values['penalty']}), learning rate "
                                 f"{values['learning_rate']:g}, batch {values['batch_size']} — applied {when}", 3000)

    def _on_restart(self, what: str) -> None:
        if self.dataset is None:
            return
        note = ""
        if what == "loss":
            note = self._adapt_learning_rate()
        self.reset(None)
        self._show_message(f"Changing the {what} restarts training: new initial W from seed "
                           f"{self.controls.values()['seed']} (same seed → same start).{note}", "info")

    def _adapt_learning_rate(self) -> str:
        """Hinge and softmax have different default rates: follow the data set's default for the new loss
        unless the user has moved the rate away from the old default."""
        old, new = getattr(self, "_mode", "softmax"), self.controls.values()["loss_mode"]
        self._mode = new
        lr_old = config.training_defaults(_defaults_name(self.dataset), _loss_of(old))["learning_rate"]
        lr_new = config.training_defaults(_defaults_name(self.dataset), _loss_of(new))["learning_rate"]
        current = self.controls.values()["learning_rate"]
        if lr_new == lr_old or abs(current - lr_old) > 1e-9 * lr_old:
            return ""
        self.controls.set_values({"learning_rate": lr_new})
        self.controller.params["learning_rate"] = lr_new
        return f" Learning rate set to {lr_new:g}, this data set's default for the {_loss_of(new)} loss."

    # ------------------------------------------------------------------ controller signals
    def _on_trainer_reset(self) -> None:
        ctl = self.controller
        names = list(ctl.trainer.models)
        ds = self.dataset
        self.curves.set_models(names)
        self.templates.set_layout(names, ds.class_names, ds.image_shape)
        self.inspector.set_features(ctl.features.X_test, ctl.snapshots)
        self.curves.set_expected({n: (s.expected, f"expected {s.formula}") for n, s in ctl.sanity.items()})
        parts = []
        for n, s in ctl.sanity.items():
            mark = "✓" if s.ok else "✗ (W is not small: lower the init scale)"
            parts.append(f"<span style='color:{model_color(n).name()}'><b>{n}</b></span> {s.measured:.3f} "
                         f"vs {s.formula} {mark}")
        loaded = any(s.from_history for s in ctl.sanity.values())
        what = "first recorded loss of the loaded model" if loaded else "initial loss, small random W"
        self.sanity_label.setText(f"<b>Sanity check</b> ({what}): " + " · ".join(parts))
        self.repaint_now(force=True)

    def _on_state(self, state: str) -> None:
        self.controls.set_running(state != "idle")
        if state == "idle":
            self.repaint_now(force=True)

    def _on_diverged(self, name: str, iteration: int, reason: str) -> None:
        self.curves.mark_divergence(iteration, f"{name}: overflow at {iteration}")
        text = (f"<b>Training stopped.</b> {name.capitalize()} model: {reason}. The last good W is kept "
                f"and shown — lower the learning rate and press Play to continue, or Reset.")
        self._show_message(text, "error")
        self.status_message.emit(f"{name}: {reason}", 8000)

    # ------------------------------------------------------------------ painting
    def repaint_now(self, force: bool = False) -> None:
        """One tick of the repaint timer (every 50 ms). Every other tick repaints the curves, the counters and the
        templates together, so they share one paint pass (~10 Hz; a pass per view cost the GUI ~1.3 % of a
        core more in compare mode, CPU that training does not get); the ticks between are the score
        inspector's (~1 Hz while training: its table and charts never add to that pass). ``force`` does all."""
        ctl = self.controller
        if ctl.trainer is None:
            return
        self._phase = (self._phase + 1) % 2
        now = time.monotonic()
        if (force or self._phase == 0) and (ctl.curves_dirty or force):
            ctl.curves_dirty = False
            acc = force or now - self._last_accuracy >= ACCURACY_SECONDS
            if acc:
                self._last_accuracy = now
            self.curves.refresh(ctl.histories, accuracy=acc)
            metrics = force or now - self._last_metrics >= METRICS_SECONDS
            if metrics:
                self._last_metrics = now
            self._paint_counters(metrics)
        if (force or self._phase == 0) and ctl.weights_dirty:
            ctl.weights_dirty = False
            self._inspector_dirty = True
            self.templates.set_weights({k: w for k, (w, _b) in ctl.weights.items()})
        if (force or self._phase == 1) and self._inspector_dirty and (
                force or now - self._last_inspector >= INSPECTOR_SECONDS):
            self._inspector_dirty = False
            self._last_inspector = now
            self.inspector.set_models(ctl.snapshots, delta=1.0)

    def _paint_counters(self, metrics: bool = True) -> None:
        """The counters line; and with ``metrics`` the loss and accuracies of each model below it."""
        ctl, live = self.controller, self.controller.live
        state = {"idle": "paused", "playing": "training", "stepping": "stepping"}[ctl.state]
        eps = (f"{live.examples_per_second:,.0f} examples/s" if ctl.state == "playing"
               else f"last run {live.examples_per_second:,.0f} examples/s" if live.examples_per_second else "")
        parts = [f"<b>Iteration {live.iteration}</b>", f"<b>epoch {live.epoch}</b>", eps, state]
        self.counters.setText(" · ".join(p for p in parts if p))
        if not metrics:
            return
        parts = []
        for name, h in ctl.histories.items():
            last = h.last()
            ep, tr, va = h.epoch_columns()
            v = h.smoothed('total')[-1] if last else None
            loss = "loss —" if v is None else f"loss {v:.3f}" if abs(v) < 1e4 else f"loss {v:.3g}"
            tra = f"train {tr[-1] * 100:.1f}%" if tr.size else "train —"
            vaa = f"val {va[-1] * 100:.1f}%" if va.size and va[-1] == va[-1] else "val —"
            te = live.test_accuracy.get(name)
            tea = f"test {te * 100:.1f}%" if te is not None else "test —"
            parts.append(f"<span style='color:{model_color(name).name()}'><b>{name}</b></span>: {loss} · {tra} · "
                         f"{vaa} · {tea}")
        self.metrics.setText("<br>".join(parts))

    def displayed_test_accuracy(self, name: str) -> float | None:
        """The test accuracy (in %) shown in the metrics line for ``name`` (None if not shown)."""
        m = re.search(rf"<b>{name}</b></span>:.*?test (\d+\.\d)%", self.metrics.text())
        return float(m.group(1)) if m else None

    def _show_message(self, text: str, kind: str = "info") -> None:
        """Errors and warnings stay until the next message; tips and confirmations fade after
        ``MESSAGE_SECONDS`` (the plots get the line back -- on a projector every line counts)."""
        self.message_kind = kind
        self.message.setText(text)
        pt = style_for(self.presentation).font_pt
        self.message.setStyleSheet(f"QLabel#message {{{_MESSAGE_STYLES[kind]} border-radius:4px; font-size:{pt}pt;}}")
        self.message.setVisible(bool(text))
        if kind in ("info", "ok") and text:
            self._message_timer.start(int(MESSAGE_SECONDS * 1000))
        else:
            self._message_timer.stop()

    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        st = style_for(on)
        f = QtGui.QFont(self.font())
        f.setPointSize(st.font_pt)
        self.setFont(f)
        self._scroll.setMinimumWidth(290 if not on else 430)
        self.curves.set_presentation(on)
        self.templates.set_presentation(on)
        self.inspector.set_presentation(on)
        shown = self.message.isVisibleTo(self)
        self._show_message(self.message.text(), self.message_kind)   # restyle at the new font size
        if not shown:
            self.message.hide()
            self._message_timer.stop()
        self._apply_sizes()

    # ------------------------------------------------------------------ workspace hooks
    def export_targets(self) -> dict:
        return {"Loss curves": self.curves.loss_plot, "Accuracy per epoch": self.curves.acc_plot}

    def shutdown(self) -> None:
        self._timer.stop()
        self.controller.stop(wait=True)
        self.templates.close_dialog()

    def save_settings(self, settings: QtCore.QSettings) -> None:
        settings.setValue("linear/log_y", self.curves.log_box.isChecked())
        settings.setValue("linear/template_scale", self.templates.scale_combo.currentData())

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        log = settings.value("linear/log_y", False)
        self.curves.set_log_y(str(log).lower() in ("true", "1"))
        i = self.templates.scale_combo.findData(settings.value("linear/template_scale", "per"))
        if i >= 0:
            self.templates.scale_combo.setCurrentIndex(i)
