"""The repair method picker: methods grouped by task, the chosen method's card and its parameters."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core.methods.scores import quality_text, shared_bench, variants
from core.runtime.speed import label as speed_label
from core.runtime.speed import measured, speed_of

KIND_COLORS = {"learned": "#3a8cdc", "zero-shot": "#9b59b6", "classical": "#5f6b77"}
METHOD_ROLE = Qt.ItemDataRole.UserRole
SPEED_RANK = {"fast": 0, "medium": 1, "slow": 2}


def _badge(text: str, color: str) -> QLabel:
    label = QLabel(text.upper())
    label.setStyleSheet(
        f"background: {color}; color: white; border-radius: 3px; padding: 2px 6px;"
        "font-size: 10px; font-weight: 700;"
    )
    label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    return label


class MethodPicker(QWidget):
    run_requested = Signal(str, str, dict, dict)  # task, method id, parameters, options

    def __init__(self, parent: QWidget | None = None, masks: bool = True):
        """`masks`: whether a document is shown, with a painted mask to offer "Only inside the mask"
        for and a slice to offer "This slice" for (a batch of files has neither)."""
        super().__init__(parent)
        self._masks = masks
        self._cards: dict[str, Any] = {}
        self._param_widgets: dict[str, QWidget] = {}
        self._volume = False
        self._kind = "image"
        self._has_mask = False
        self._busy = False
        self._waiting_for = ""  # what Run needs first that the workspace knows of ("" when nothing)
        self._units: tuple[str, float] | None = None
        self._warning: dict[str, str] = {}
        # What the user typed per (method, units), so a run (which refills the tree for the new
        # document) or a look at another method does not put the fields back to their defaults.
        self._typed: dict[tuple, dict[str, Any]] = {}
        self._shown: tuple | None = None
        self._defaults: dict[str, str] = {}

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.tree = QTreeWidget()
        self.tree.setColumnCount(2)
        self.tree.setHeaderHidden(True)
        self.tree.header().setStretchLastSection(False)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setRootIsDecorated(True)
        self.tree.setMinimumHeight(150)
        self.tree.currentItemChanged.connect(self._on_current)
        layout.addWidget(self.tree, 1)

        card = QWidget()
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(0, 4, 0, 0)
        self.title = QLabel()
        self.title.setObjectName("cardTitle")
        card_layout.addWidget(self.title)
        self.badges = QHBoxLayout()
        self.badges.setSpacing(4)
        card_layout.addLayout(self.badges)
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        card_layout.addWidget(self.description)
        # The "best" and "fast" variants of the chosen method side by side: speed measured on this machine,
        # quality from each one's model card (core.methods.scores).
        self.variants = QLabel()
        self.variants.setObjectName("variants")
        self.variants.setTextFormat(Qt.TextFormat.RichText)
        self.variants.setWordWrap(True)
        self.variants.setVisible(False)
        card_layout.addWidget(self.variants)
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #ff8a80;")
        card_layout.addWidget(self.reason)
        self.params_form = QFormLayout()
        self.params_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        card_layout.addLayout(self.params_form)

        self.scope = QComboBox()
        self.scope.addItem("All slices", "all")
        self.scope.addItem("This slice", "current")
        self.scope_label = QLabel("Apply to")
        self.limit_to_mask = QCheckBox("Only inside the mask")
        self.limit_to_mask.setChecked(True)
        self.limit_to_mask.setToolTip(
            "When a mask is painted, change only the marked pixels (blended at soft edges)"
        )
        options = QFormLayout()
        options.addRow(self.scope_label, self.scope)
        options.addRow(self.limit_to_mask)
        card_layout.addLayout(options)

        self.run_button = QPushButton("Repair")
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Run the selected method (Ctrl+Return)")
        self.run_button.clicked.connect(self.request_run)
        card_layout.addWidget(self.run_button)
        card_layout.addStretch(1)
        layout.addWidget(card, 1)
        self._update_options(None)

    # --- contents ---

    def set_cards(
        self,
        cards: list,
        volume: bool = False,
        kind: str = "image",
        modality: str = "photo",
        units: tuple[str, float] | None = None,
        task_order: tuple[str, ...] = (),
    ) -> None:
        """Fill the tree with method cards fit for the open document.

        `task_order`: the tasks in the order the document's workspace puts them first (a clip: lost
        frames, dust, flicker before the photo tasks), else the task registry's order; the first
        available method is picked when none was.

        `modality` (core.methods.modality): the default of each task is the one the engine runs on it
        (never a photo-trained network on a scan), and a method that does not suit it carries a
        warning. `units`: (name, size of 1 on the methods' 0-255 scale) when intensity parameters are
        typed in the document's own units (HU on a CT).
        """
        from core.methods import choose_method
        from core.methods.modality import suits, warning

        self._volume = volume
        self._kind = kind
        self._units = units
        self._warning = {c.id: warning(c, modality) for c in cards if not suits(c, modality)}
        selected = self.current_method()
        self.tree.clear()
        self._cards = {c.id: c for c in cards}
        self._defaults = {}
        for task in {c.task for c in cards}:
            try:
                chosen = choose_method(task, modality=modality, frames=None if volume else 1)[0]
                self._defaults[task] = chosen.card.id
            except Exception:  # noqa: BLE001 - a task with nothing available has no default to mark
                pass
        by_task: dict[str, list] = {}
        for card in cards:
            if card.task == "detect":
                continue  # detection proposes a mask (its own action), it is not a repair
            if card.operates_on == "audio" and kind != "audio":
                continue
            if card.operates_on == "video" and kind != "video":
                continue
            if card.operates_on != "audio" and kind == "audio":
                continue
            if card.operates_on == "volume" and not volume:
                continue
            by_task.setdefault(card.task, []).append(card)
        preferred = None
        from core.tasks import TASKS  # titles and order: the task registry's

        order = [*task_order, *(t for t in TASKS if t not in task_order)]
        for task in sorted(by_task, key=lambda t: order.index(t) if t in order else len(order)):
            top = QTreeWidgetItem([TASKS[task].title if task in TASKS else task])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            for card in sorted(by_task[task], key=self._tree_order):
                item = QTreeWidgetItem(
                    [card.name + ("  (default)" if self._is_default(card) else ""), card.kind]
                )
                item.setData(0, METHOD_ROLE, card.id)
                item.setForeground(1, QBrush(QColor(KIND_COLORS.get(card.kind, "#888")).lighter(150)))
                if card.id in self._warning:
                    item.setForeground(0, QBrush(QColor("#ffb74d")))
                    item.setToolTip(0, self._warning[card.id])
                elif card.available:
                    item.setToolTip(0, card.description)
                else:
                    for column in (0, 1):
                        item.setForeground(column, QBrush(QColor(110, 113, 118)))
                    item.setToolTip(0, f"Unavailable: {card.unavailable_reason}")
                top.addChild(item)
                if card.id == selected or (selected is None and preferred is None and card.available):
                    preferred = item
            top.setExpanded(True)
        if preferred is not None:
            self.tree.setCurrentItem(preferred)
        else:
            self._on_current(None, None)

    def _reason(self, card) -> str:
        """Why `card` cannot run, or that it runs because its task's default cannot (never silently)."""
        if not card.available:
            return f"Unavailable: {card.unavailable_reason}"
        if card.id in self._warning:
            return "Caution: " + self._warning[card.id] + "."
        default = next((c for c in self._cards.values() if c.task == card.task and c.default), None)
        if default is not None and default is not card and not default.available:
            return (
                f"The default, {default.name}, cannot run ({default.unavailable_reason}); "
                f"{card.name} runs instead."
            )
        return ""

    def _tree_order(self, card) -> tuple:
        """Default first, then by measured speed and name; a fast variant right below its best."""
        head = self._cards.get(card.variant_of, card)
        speed = SPEED_RANK.get(speed_of(head)[0], 3)
        return (not self._is_default(head), speed, head.name, card is not head)

    def _is_default(self, card) -> bool:
        return self._defaults.get(card.task) == card.id

    def fitting_width(self) -> int:
        """The width at which every method name shows in full beside its kind (no "…").

        Counts a vertical scroll bar even while none is shown: a shorter window brings one.
        """
        tree = self.tree
        content = tree.sizeHintForColumn(0) + tree.sizeHintForColumn(1)
        chrome = self.width() - tree.viewport().width()  # layout margins, the frame, a shown scroll bar
        if not tree.verticalScrollBar().isVisible():
            chrome += tree.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent, None, tree)
        return content + chrome

    def set_has_mask(self, has_mask: bool) -> None:
        self._has_mask = has_mask
        self._update_options(self.current_card())

    def set_waiting_for(self, reason: str) -> None:
        """Grey Run until the workspace has what every method of its needs (an audio selection),
        `reason` its tooltip; "" lets it run."""
        self._waiting_for = reason
        self._update_options(self.current_card())

    def set_busy(self, busy: bool) -> None:
        ended = self._busy and not busy
        self._busy = busy
        if ended and self.current_card() is not None:
            # the run may have measured the method's speed here: the card says so now, not "an
            # estimate, not run here yet" (a walk-through); what was typed is kept
            self._on_current(None, None)
        else:
            self._update_options(self.current_card())

    def clear_selection(self) -> None:
        """No method selected: the next cards pick their first available one again."""
        self.tree.setCurrentItem(None)

    def select_task(self, task: str) -> bool:
        """Select the default method of `task` (the one the engine would run on this document)."""
        chosen = self._defaults.get(task)
        return chosen is not None and self.select(chosen)

    def select(self, method_id: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, METHOD_ROLE) == method_id:
                    self.tree.setCurrentItem(top.child(j))
                    self.tree.scrollToItem(top.child(j))  # a choice made for the person is shown to them
                    return True
        return False

    def current_method(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, METHOD_ROLE) if item is not None else None

    def current_card(self):
        return self._cards.get(self.current_method() or "")

    # --- the card ---

    def _on_current(self, item, _previous) -> None:
        card = self.current_card()
        if self._shown is not None:
            self._typed[self._shown] = self.params()
        self._shown = None if card is None else (card.id, self._units)
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        self._param_widgets.clear()
        while self.badges.count():
            widget = self.badges.takeAt(0).widget()
            if widget is not None:
                # Hide now: deferred deletion waits for the event loop, and until then a shown
                # parent would show the orphan at its default geometry over the card.
                widget.hide()
                widget.deleteLater()
        if card is None:
            self.title.setText("No method selected")
            has_cards = self.tree.topLevelItemCount() > 0  # a document is open: only the method is missing
            self.description.setText(
                "Choose a repair method from the list."
                if has_cards
                else "Open a document and choose a repair method."
            )
            self.reason.setText("")
            self._show_variants(None)
            self._update_options(None)
            return
        self.title.setText(card.name)
        self.badges.addWidget(_badge(card.kind, KIND_COLORS.get(card.kind, "#555")))
        speed, speed_words = speed_of(card)  # measured on this machine once the method has run here
        self.badges.addWidget(_badge(speed, "#3d4a3d" if speed == "fast" else "#5a4a2a"))
        if card.needs_mask:
            self.badges.addWidget(_badge("uses mask", "#8a3a3a"))
        self.badges.addStretch(1)
        quality = f"\nQuality (model card): {quality_text(card)}." if card.weights else ""
        self.description.setText(f"{card.description}\n\nSpeed: {speed_words}.{quality}")
        self.reason.setText(self._reason(card))
        for param in card.params:
            widget = self._param_widget(param)
            widget.setToolTip(param.help)
            widget.setEnabled(card.available)
            widget.setMinimumHeight(widget.sizeHint().height())  # never squashed unreadable (a walk-through)
            name = param.name.replace("_", " ")
            label = QLabel(f"{name} ({self._units[0]})" if param.intensity and self._units else name)
            label.setToolTip(param.help)
            self.params_form.addRow(label, widget)
            self._param_widgets[param.name] = widget
        for name, value in self._typed.get(self._shown, {}).items():
            if name in self._param_widgets:
                self.set_param(name, value)
        self._show_variants(card)
        for widget in self._param_widgets.values():  # the variants' figures follow the chosen scale
            _changed_signal(widget).connect(lambda *_: self._show_variants(self.current_card()))
        self._update_options(card)

    def _show_variants(self, card) -> None:
        family = variants(card, list(self._cards.values())) if card is not None else []
        self.variants.setVisible(bool(family))
        chosen = self.params()
        if self._units and card is not None:  # typed in the scan's units: not the benches' 0-255 levels
            chosen = {
                k: v for k, v in chosen.items() if not any(p.name == k and p.intensity for p in card.params)
            }
        self.variants.setText(_variants_table(family, self.variant_rows(family, chosen)))

    @staticmethod
    def variant_rows(family: list, params: dict | None = None) -> list[tuple[str, str, str]]:
        """(name, speed here, quality) of each variant, the best first; their quality on a bench they
        were all measured on, so the figures compare (the one of the chosen scale, where there are
        several)."""
        bench = shared_bench(family, params)
        return [
            (
                f"{member.name} ({'fast' if member.variant_of else 'best'})",
                _speed_cell(member),
                quality_text(member, bench),
            )
            for member in family
        ]

    def _param_widget(self, param) -> QWidget:
        default = param.default
        if param.choices:
            box = QComboBox()
            for choice in param.choices:
                box.addItem(str(choice), choice)
            box.setCurrentIndex(max(0, list(param.choices).index(default)) if default in param.choices else 0)
            return box
        if isinstance(default, bool):
            check = QCheckBox()
            check.setChecked(default)
            return check
        if isinstance(default, int):
            spin = QSpinBox()
            spin.setRange(
                int(param.minimum if param.minimum is not None else -(2**31) + 1),
                int(param.maximum if param.maximum is not None else 2**31 - 1),
            )
            spin.setSpecialValueText(param.zero_means if param.minimum == 0 else "")
            spin.setValue(default)
            return spin
        if isinstance(default, float):
            spin = QDoubleSpinBox()
            spin.setDecimals(4 if abs(default) < 0.1 and default != 0 else 3)
            scale = self._units[1] if param.intensity and self._units else 1.0  # typed in the scan's units
            spin.setRange(
                param.minimum * scale if param.minimum is not None else -1e9,
                param.maximum * scale if param.maximum is not None else 1e9,
            )
            spin.setSingleStep(0.1 if abs(default) < 10 else 1.0)
            spin.setSpecialValueText(param.zero_means if param.minimum == 0 else "")  # "estimate", not 0.000
            spin.setValue(default)
            return spin
        line = QLineEdit("" if default is None else str(default))
        line.setPlaceholderText("automatic" if default is None else "")
        return line

    def params(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, widget in self._param_widgets.items():
            if isinstance(widget, QComboBox):
                values[name] = widget.currentData()
            elif isinstance(widget, QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, QSpinBox | QDoubleSpinBox):
                values[name] = widget.value()
            elif isinstance(widget, QLineEdit):
                text = widget.text().strip()
                if text:
                    values[name] = text
        return values

    def set_param(self, name: str, value: Any) -> None:
        widget = self._param_widgets[name]
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(widget.findData(value))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QSpinBox | QDoubleSpinBox):
            widget.setValue(value)
        else:
            widget.setText(str(value))

    def _update_options(self, card) -> None:
        per_frame = card is not None and card.operates_on == "image"
        slices = self._masks and self._volume and per_frame  # a walk-through saw "All slices" for photos
        self.scope.setVisible(slices)
        self.scope_label.setVisible(slices)
        # shown once a mask is painted: greyed but ticked it read as a limit on a whole-picture repair
        # (walk-through 43)
        self.limit_to_mask.setVisible(
            self._masks
            and self._has_mask
            and card is not None
            and not card.needs_mask
            and not _resizes(card.task)
            and self._kind != "video"
        )
        ok = card is not None and card.available and not self._busy and not self._waiting_for
        self.run_button.setEnabled(ok)
        if card is not None and not card.available:
            self.run_button.setToolTip(f"Unavailable: {card.unavailable_reason}")
        elif self._waiting_for:
            self.run_button.setToolTip(self._waiting_for)
        else:
            self.run_button.setToolTip("Run the selected method (Ctrl+Return)")

    def request_run(self) -> None:
        card = self.current_card()
        if card is None and not self._busy:  # a task's heading, not a method: said, not ignored
            self.reason.setText("Choose a repair method first: a task's heading is not one.")
            return
        if card is None or not card.available or self._busy:
            return
        options = {
            "current_slice_only": self._masks and self._volume and self.scope.currentData() == "current",
            "limit_to_mask": self.limit_to_mask.isChecked(),
        }
        self.run_requested.emit(card.task, card.id, self.params(), options)


def _changed_signal(widget: QWidget):
    """The signal a parameter's widget sends when its value changes."""
    if isinstance(widget, QComboBox):
        return widget.currentIndexChanged
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QSpinBox | QDoubleSpinBox):
        return widget.valueChanged
    return widget.textChanged


def _variants_table(family: list, rows: list[tuple[str, str, str]]) -> str:
    """The variants as a small rich-text table that wraps in the narrow card."""
    if not family:
        return ""
    cells = "".join(
        "<tr>"
        + "".join(f"<td style='padding: 2px 6px 2px 0'>{html.escape(text)}</td>" for text in row)
        + "</tr>"
        for row in rows
    )
    header = "".join(
        f"<th align='left' style='padding-right: 6px'>{h}</th>" for h in ("Variant", "Speed here", "Quality")
    )
    return f"<table cellspacing='0'><tr>{header}</tr>{cells}</table>"


def _speed_cell(card) -> str:
    """A variant's speed in a few words: measured here, or the card's estimate until it has run."""
    entry = measured(card.id)  # read once: speed_of would read the store again
    if entry is None:
        return f"{card.speed} (estimate; not run here yet)"
    seconds = float(entry["seconds_per_mp"])
    return f"{speed_label(seconds)}: {seconds:.3g} s/MP of the result ({entry['device']}, {entry['backend']})"


def _resizes(task_id: str) -> bool:
    """Whether a task's result has another size (a mask cannot select its pixels)."""
    from core.tasks import TASKS

    return task_id in TASKS and TASKS[task_id].resizes
