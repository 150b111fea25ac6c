"""患者档案 (A1.1): clinical patient records in the admin web — searched by name or hospital id,
created by hand for a brought-in patient, edited, merged when one person has two records,
deactivated and reactivated. ID card and phone are masked on every page; every list and read
is audited by the service (bot/services/patient_records.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from bot.services import patient_records as records
from web import container, db, require_csrf, uow

from .base import AdminOnly, admin_actor


class PatientRecordView(AdminOnly, BaseView):
    @expose("/")
    def index(self) -> Any:
        q = (request.args.get("q") or "").strip()[:40]
        everyone = request.args.get("all") == "1"
        found = records.search(
            db(), container().cipher, admin_actor(), q, include_inactive=everyone
        )
        uow().commit()
        return self.render(
            "admin/patients.html", found=found, q=q, everyone=everyone, sexes=records.SEX_LABELS
        )

    @expose("/new", methods=["GET", "POST"])
    def new(self) -> Any:
        form = _form()
        if request.method == "POST":
            require_csrf()
            try:
                data = _input(form)
                patient = records.create(db(), container().cipher, data, admin_actor())
            except records.RecordRefused as exc:
                uow().rollback()
                _refused(exc)
            else:
                uow().commit()
                flash(f"已新建档案 {patient.id}：{patient.name}")
                return redirect(self.get_url(".details", patient_id=patient.id))
        return self.render("admin/patient_form.html", form=form, p=None, csrf=generate_csrf())

    @expose("/<int:patient_id>")
    def details(self, patient_id: int) -> Any:
        s = db()
        shown = self._read(patient_id)
        alike = [
            r
            for r in records.search(s, container().cipher, admin_actor(), shown.patient.name)
            if r.patient.id != patient_id and r.patient.name == shown.patient.name
        ]
        uow().commit()
        return self.render(
            "admin/patient_details.html",
            r=shown,
            alike=alike,
            sexes=records.SEX_LABELS,
            csrf=generate_csrf(),
        )

    @expose("/<int:patient_id>/edit", methods=["GET", "POST"])
    def edit(self, patient_id: int) -> Any:
        shown = self._read(patient_id)
        p = shown.patient
        form = {
            "name": p.name,
            "sex": p.sex.value,
            "birth_date": p.birth_date.isoformat() if p.birth_date else "",
            "hospital_patient_id": p.hospital_patient_id or "",
            "id_card": "",
            "phone": "",
        }
        if request.method == "POST":
            require_csrf()
            form = _form()
            try:
                changed = records.update(
                    db(), container().cipher, patient_id, _input(form), admin_actor()
                )
            except records.RecordRefused as exc:
                uow().rollback()
                _refused(exc)
                shown = self._read(patient_id)
            else:
                uow().commit()
                flash(f"已保存（修改了 {len(changed)} 项）" if changed else "没有修改。")
                return redirect(self.get_url(".details", patient_id=patient_id))
        uow().commit()
        return self.render("admin/patient_form.html", form=form, p=shown, csrf=generate_csrf())

    @expose("/<int:patient_id>/active", methods=["POST"])
    def active(self, patient_id: int) -> Any:
        require_csrf()
        on = request.form.get("active") == "1"
        try:
            records.set_active(db(), patient_id, on, admin_actor())
        except records.RecordRefused as exc:
            uow().rollback()
            flash(str(exc), "error")
        else:
            uow().commit()
            flash("已重新启用该档案。" if on else "已停用该档案：不再用于绑定和检索，记录仍保留。")
        return redirect(self.get_url(".details", patient_id=patient_id))

    @expose("/merge", methods=["GET", "POST"])
    def merge(self) -> Any:
        source = request.form if request.method == "POST" else request.args
        keep_id = source.get("keep", 0, type=int)
        duplicate_id = source.get("duplicate", 0, type=int)
        if request.method == "POST":
            require_csrf()
            if request.form.get("confirm") != "yes":
                flash("请勾选确认后再合并。", "error")
            else:
                try:
                    merged = records.merge(db(), keep_id, duplicate_id, admin_actor())
                except records.RecordRefused as exc:
                    uow().rollback()
                    flash(str(exc), "error")
                else:
                    uow().commit()
                    moved = sum(merged.moved.values())
                    flash(
                        f"已将档案 {duplicate_id} 合并到档案 {keep_id}（移动 {moved} 条记录），"
                        "重复档案已停用。"
                    )
                    return redirect(self.get_url(".details", patient_id=keep_id))
        pair = []
        if keep_id and duplicate_id:
            try:
                pair = [self._read(keep_id), self._read(duplicate_id)]
            except records.RecordRefused as exc:
                flash(str(exc), "error")
        uow().commit()
        return self.render(
            "admin/patient_merge.html",
            pair=pair,
            keep=keep_id or "",
            duplicate=duplicate_id or "",
            sexes=records.SEX_LABELS,
            csrf=generate_csrf(),
        )

    def _read(self, patient_id: int) -> records.Shown:
        try:
            return records.read(db(), container().cipher, admin_actor(), patient_id)
        except records.RecordRefused:
            abort(404)


FIELDS = ("name", "sex", "birth_date", "id_card", "phone", "hospital_patient_id")


def _form() -> dict[str, str]:
    return {k: (request.form.get(k) or "").strip() for k in FIELDS}


def _input(form: dict[str, str]) -> records.PatientInput:
    try:
        born = date.fromisoformat(form["birth_date"]) if form["birth_date"] else None
    except ValueError:
        raise records.RecordRefused("出生日期格式应为 年-月-日，如 1960-03-07。") from None
    if form["sex"] not in ("", "M", "F", "U"):
        raise records.RecordRefused("请选择性别。")
    return records.PatientInput(
        name=form["name"],
        id_card=form["id_card"],
        phone=form["phone"],
        sex=form["sex"],
        birth_date=born,
        hospital_patient_id=form["hospital_patient_id"],
    )


def _refused(exc: records.RecordRefused) -> None:
    if exc.existing_id is None:
        flash(str(exc), "error")
        return
    link = Markup('<a href="{}">打开档案 {}</a>').format(
        url_for("patients.details", patient_id=exc.existing_id), exc.existing_id
    )
    flash(Markup("{} {}").format(str(exc), link), "error")
