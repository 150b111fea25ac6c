"""临床字典 (A7.1): the version in force, section by section, as tables in Chinese; a section
edited as JSON with its fields explained, previewed as a diff against the version in force and
published through the dictionary service (the rules of ``flask dictionary publish``); the
version history and the changes between any two versions. Administrators only. Publishing is
audited by the service; reading the dictionary shows no patient and, like the other
configuration pages, is not."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, request
from flask_admin import BaseView, expose
from flask_wtf.csrf import generate_csrf

from bot.care.dictionary import DictionaryError
from bot.services import dictionary as dictionary_service
from bot.services.dictionary import FIELD_LABELS, Section, SectionInputError, StaleDictionary
from web import container, db, require_csrf, uow

from .base import AdminOnly, admin_actor

# situations of a maintenance rule that are not dressing types
WHEN_LABELS = {"PORT_IDLE": "未使用（冲封管）", "PORT_IN_USE": "持续输液（换无损伤针）"}


class DictionaryView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        return self._show(dictionary_service.current(db()).version)

    @expose("/version/<int:version>")
    def version(self, version: int) -> Any:
        return self._show(version)

    def _show(self, version: int) -> Any:
        s = db()
        try:
            payload = dictionary_service.payload_of(s, version)
        except dictionary_service.NoDictionary:
            abort(404)
        history = {v.version: v for v in dictionary_service.versions(s)}
        in_force = max(history)
        return self.render(
            "admin/dictionary.html",
            info=history[version],
            in_force=in_force,
            sections=[
                (sec, tables(sec, dictionary_service.section_value(payload, sec), payload))
                for sec in dictionary_service.sections_of(payload)
            ],
            tz=container().settings.timezone,
        )

    @expose("/edit", methods=["GET", "POST"])
    def edit(self) -> Any:
        s = db()
        in_force = dictionary_service.current(s)
        payload = dictionary_service.payload_of(s, in_force.version)
        section = dictionary_service.find_section(payload, request.args.get("section", ""))
        if section is None:
            abort(404)
        before = dictionary_service.section_value(payload, section)
        form = EditForm(text=dictionary_service.as_text(before))
        if request.method == "POST":
            require_csrf()
            form = EditForm(
                text=request.form.get("text", ""),
                note=request.form.get("note", "").strip()[:255],
                previewed=request.form.get("previewed", ""),
            )
            published = self._preview_or_publish(form, section, payload, before, in_force.version)
            if published:
                return published
        return self.render(
            "admin/dictionary_edit.html",
            section=section,
            version=in_force.version,
            form=form,
            rows=min(40, max(6, form.text.count("\n") + 2)),
            csrf=generate_csrf(),
            shown=dictionary_service.shown,
        )

    def _preview_or_publish(
        self, form: EditForm, section: Section, payload: dict[str, Any], before: Any, version: int
    ) -> Any:
        """Fill the form's outcome; a response if the change was published."""
        try:
            value = dictionary_service.parse_section(form.text, section, before)
        except SectionInputError as exc:
            form.problems = [str(exc)]
            return None
        new = dictionary_service.with_section(payload, section, value)
        form.changes = dictionary_service.diff(payload, new)
        if not form.changes:
            form.problems = ["与现行版本相比没有改动，无需发布。"]
            return None
        form.problems = dictionary_service.check(db(), new)
        if not form.note:
            form.problems.append("请填写修改说明（将记入版本历史）。")
        if form.problems:
            return None
        digest = f"{version}:{_digest(form.text)}"
        if request.form.get("do") != "publish" or form.previewed != digest:
            if request.form.get("do") == "publish":
                previewed_on = form.previewed.partition(":")[0]
                if previewed_on and previewed_on != str(version):  # published since the preview
                    form.problems = StaleDictionary(version).problems
                else:
                    form.problems = ["内容在预览后有改动：请核对下方改动后再发布。"]
            form.previewed = digest
            return None
        try:
            row = dictionary_service.publish(db(), new, admin_actor(), form.note, version)
        except DictionaryError as exc:  # StaleDictionary too: another publish came first
            uow().rollback()
            form.problems = exc.problems
            return None
        uow().commit()
        flash(f"临床字典第 {row.version} 版已生效：{form.note}")
        return redirect(self.get_url(".index"))

    @expose("/history")
    def history(self) -> Any:
        found = dictionary_service.versions(db())
        return self.render(
            "admin/dictionary_history.html", versions=found, tz=container().settings.timezone
        )

    @expose("/diff")
    def diff(self) -> Any:
        s = db()
        a, b = request.args.get("a", type=int), request.args.get("b", type=int)
        if a is None or b is None:
            abort(400)
        try:
            old, new = dictionary_service.payload_of(s, a), dictionary_service.payload_of(s, b)
        except dictionary_service.NoDictionary:
            abort(404)
        return self.render(
            "admin/dictionary_diff.html",
            a=a,
            b=b,
            changes=dictionary_service.diff(old, new),
            text=dictionary_service.text_diff(old, new, f"第{a}版", f"第{b}版"),
            shown=dictionary_service.shown,
        )


@dataclass
class EditForm:
    text: str
    note: str = ""
    previewed: str = ""  # version and digest of the text the changes were shown for
    problems: list[str] = field(default_factory=list)
    changes: list[dictionary_service.Change] = field(default_factory=list)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --- the version as tables -----------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    title: str  # "" for a section's only table
    headers: list[str]
    rows: list[list[str]]


def tables(section: Section, value: Any, payload: dict[str, Any]) -> list[Table]:
    """A section's value as tables: a list of entries one row each, an object as name/value
    rows, an object of lists (the scales) one table each."""
    if not section.keys:
        return []
    if isinstance(value, list) and all(isinstance(e, dict) for e in value):
        return [_entries(section.keys[0], value, payload)]
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        return [_entries(k, v, payload, title=k) for k, v in value.items()]
    if isinstance(value, dict):
        return [
            Table(
                "",
                ["项目", "值"],
                [[FIELD_LABELS.get(str(k), str(k)), cell(v)] for k, v in value.items()],
            )
        ]
    return [Table("", ["值"], [[cell(value)]])]


def _entries(key: str, entries: list[Any], payload: dict[str, Any], title: str = "") -> Table:
    columns: list[str] = []
    for entry in entries:
        columns += [k for k in entry if k not in columns] if isinstance(entry, dict) else []
    headers = [FIELD_LABELS.get(c, c) for c in columns]
    rows = [[_cell(key, c, e.get(c), payload) for c in columns] for e in entries]
    extra = _extra_column(key, entries, payload)
    if extra:
        headers.append(extra[0])
        for row, text in zip(rows, extra[1], strict=True):
            row.append(text)
    return Table(title, headers, rows)


def _labels(payload: dict[str, Any], key: str) -> dict[Any, Any]:
    return {e.get("code"): e.get("label") for e in payload.get(key) or [] if isinstance(e, dict)}


def _cell(key: str, column: str, value: Any, payload: dict[str, Any]) -> str:
    """Codes that point into another section are shown with that section's name."""
    if key == "maintenance_intervals" and column == "when":
        name = WHEN_LABELS.get(value) or _labels(payload, "dressing_types").get(value)
        return f"{value} {name}" if name else cell(value)
    return cell(value)


def _extra_column(
    key: str, entries: list[Any], payload: dict[str, Any]
) -> tuple[str, list[str]] | None:
    """A device type's maintenance intervals; a complication's grades."""
    if key == "device_types":
        dressings = {**_labels(payload, "dressing_types"), **WHEN_LABELS}
        rules = payload.get("maintenance_intervals") or []
        return "维护间隔", [
            "；".join(
                f"{dressings.get(r.get('when'), r.get('when'))} 每 {r.get('days')} 天"
                for r in rules
                if isinstance(r, dict) and r.get("device_type") == e.get("code")
            )
            or "—"
            for e in entries
        ]
    if key == "complications":
        scales = payload.get("scales") or {}
        return "分级", [
            "、".join(str(g.get("grade")) for g in scales.get(e.get("scale")) or []) + "级"
            if scales.get(e.get("scale"))
            else "—"
            for e in entries
        ]
    return None


def cell(value: Any) -> str:
    """A value in a table cell, read by people."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_entry_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return "；".join(f"{FIELD_LABELS.get(k, k)}：{cell(v)}" for k, v in value.items())
    return str(value)


def _entry_text(value: Any) -> str:
    if not isinstance(value, dict):
        return cell(value)
    rest = "，".join(f"{k}={cell(v)}" for k, v in value.items() if k not in ("code", "label"))
    name = value.get("label") or value.get("code")
    return f"{name}（{rest}）" if rest else str(name)
