"""医疗机构 (A3.1): the institutions patients are shown as nearby, kept by the hospital's
staff — address, coordinates (typed, or looked up with Tencent's geocoder), device types
maintained, services, hours, phone, active. Every create and change is audited with what
changed. A CSV/XLSX import is checked row by row and saved only when the administrator
confirms."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import SecureForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import select
from wtforms import BooleanField, FloatField, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from bot.models import Institution
from bot.services import institutions
from bot.services.directory import DEVICE_LABELS, SERVICE_LABELS
from web import container, require_csrf, uow

from .base import SecureModelView, admin_actor

log = logging.getLogger(__name__)
IMPORT_TTL = 1800  # seconds a checked import waits for the administrator's confirmation
IMPORT_LIMIT = 2 * 1024 * 1024
SOURCES = {"manual": "手动", "geocoder": "地址解析", "seed": "初始数据"}


class InlineCheckboxes:
    """Checkboxes in a row: Flask-Admin gives every field Bootstrap's ``form-control`` class,
    which squeezes a list of checkboxes into one input's height."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        boxes = Markup("").join(
            Markup('<label class="mr-4 mb-0">{} {}</label>').format(box(), box.label.text)
            for box in field
        )
        return Markup('<div id="{}" class="py-1">{}</div>').format(field.id, boxes)


class Checkboxes(SelectMultipleField):
    widget = InlineCheckboxes()
    option_widget = widgets.CheckboxInput()


def _text(label: str, size: int, *validators: Any, **kw: Any) -> StringField:
    return StringField(
        label,
        validators=[*validators, Length(max=size, message=f"{label}最多{size}个字")],
        filters=[lambda v: (v or "").strip() or None],
        **kw,
    )


class InstitutionForm(SecureForm):
    name = _text("机构名称", 120, DataRequired(message="请填写机构名称"))
    code = _text(
        "机构编码",
        32,
        DataRequired(message="请填写机构编码"),
        Regexp(r"^[A-Za-z0-9_-]+$", message="机构编码只能包含字母、数字、下划线和连字符"),
    )
    level = _text("级别", 40, Optional(), description="如 三级甲等、社区卫生服务中心")
    address = _text("地址", 255, Optional(), description="填写完整地址，未填坐标时按地址解析")
    city = _text("城市", 40, Optional())
    district = _text("区县", 40, Optional(), description="患者按区县查找时使用，如 西湖区")
    latitude = FloatField(
        "纬度", validators=[Optional()], description="GCJ-02（腾讯地图坐标），如 30.2547"
    )
    longitude = FloatField("经度", validators=[Optional()], description="如 120.1798")
    device_types = Checkboxes("维护的导管类型", choices=list(DEVICE_LABELS.items()))
    services = Checkboxes("服务项目", choices=list(SERVICE_LABELS.items()))
    opening_hours = _text("开放时间", 255, Optional())
    phone = _text(
        "电话",
        40,
        Optional(),
        Regexp(f"^{institutions.PHONE.pattern}$", message=institutions.PHONE_PROBLEM),
    )
    active = BooleanField("启用", default=True)

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        # the pair together: an empty field's Optional() would skip a check of its own
        problems = institutions.coordinate_problems(self.latitude.data, self.longitude.data)
        self.longitude.errors = [*self.longitude.errors, *problems]
        return ok and not problems

    def validate_code(self, field: Any) -> None:
        from web import db

        other = db().scalar(select(Institution.id).where(Institution.code == field.data))
        if other is not None and other != getattr(self, "editing_id", None):
            raise ValidationError("该机构编码已存在")


def _coordinates(view: Any, context: Any, model: Institution, name: str) -> Any:
    if model.latitude is None or model.longitude is None:
        return Markup('<span class="text-warning">无坐标（不在附近机构中）</span>')
    source = SOURCES.get(model.coordinates_source or "", "—")
    return f"{model.latitude:.4f}, {model.longitude:.4f}（{source}）"


def _labels(labels: dict[str, str]) -> Any:
    return lambda v, c, m, n: "、".join(labels.get(x, x) for x in getattr(m, n) or []) or "—"


class InstitutionView(SecureModelView):
    form = InstitutionForm
    list_template = "admin/institutions_list.html"
    column_list = ["name", "code", "district", "address", "device_types", "coordinates"]
    column_list += ["phone", "active"]
    column_labels = {
        "name": "机构名称",
        "code": "编码",
        "level": "级别",
        "district": "区县",
        "city": "城市",
        "address": "地址",
        "device_types": "维护导管",
        "services": "服务",
        "coordinates": "坐标",
        "phone": "电话",
        "opening_hours": "开放时间",
        "active": "启用",
    }
    column_searchable_list = ["name", "code", "address", "district"]
    column_filters = ["active", "district"]
    column_default_sort = ("id", False)
    column_formatters = {
        "coordinates": _coordinates,
        "device_types": _labels(DEVICE_LABELS),
        "services": _labels(SERVICE_LABELS),
    }
    column_details_list = [
        "name",
        "code",
        "level",
        "city",
        "district",
        "address",
        "coordinates",
        "device_types",
        "services",
        "opening_hours",
        "phone",
        "active",
    ]

    def edit_form(self, obj: Any = None) -> Any:
        form = super().edit_form(obj)
        form.editing_id = obj.id if obj is not None else None
        return form

    def on_model_change(self, form: Any, model: Institution, is_created: bool) -> None:
        if model.latitude is not None and {"latitude", "longitude"} & set(
            institutions.changes(model)
        ):
            model.coordinates_source = "manual"
        elif model.latitude is None:
            model.coordinates_source = None
        had = model.latitude is not None
        g.institution_warning = institutions.locate(model, container().geocoder)
        g.institution_geocoded = not had and model.latitude is not None
        institutions.record_change(
            self.session, model, admin_actor(), created=is_created, via="admin"
        )

    def after_model_change(self, form: Any, model: Institution, is_created: bool) -> None:
        why = g.pop("institution_warning", None)
        if why:
            flash(f"已保存“{model.name}”，但{why}：{institutions.NO_COORDINATES}。", "warning")
        elif g.pop("institution_geocoded", False):
            flash(
                f"已按地址解析“{model.name}”的坐标：{model.latitude:.4f}, {model.longitude:.4f}",
                "info",
            )

    # ---- import -------------------------------------------------------------------------

    @expose("/import/", methods=("GET", "POST"))
    def import_file(self) -> Any:
        """Upload → every row checked → the report; nothing is saved yet."""
        rows: list[institutions.ImportRow] = []
        problem, token = "", ""
        if request.method == "POST":
            require_csrf()
            upload = request.files.get("file")
            filename = upload.filename or "" if upload is not None else ""
            data = upload.read(IMPORT_LIMIT + 1) if upload is not None and filename else b""
            if not data:
                problem = "请选择要导入的 CSV 或 XLSX 文件"
            elif len(data) > IMPORT_LIMIT:
                problem = "文件超过2MB，请分批导入"
            else:
                try:
                    table = institutions.read_table(data, filename)
                except ValueError as exc:
                    problem = str(exc)
                else:
                    rows = institutions.check_rows(self.session, table)
                    if not rows:
                        problem = "文件中没有数据行"
            good = [r.values for r in rows if r.ok]
            if good:
                token = secrets.token_urlsafe(16)
                container().redis.setex(self._key(token), IMPORT_TTL, json.dumps(good))
            log.info("institution import checked: %d rows, %d good", len(rows), len(good))
        return self.render(
            "admin/institution_import.html",
            rows=rows,
            problem=problem,
            token=token,
            good=sum(r.ok for r in rows),
            csrf=generate_csrf(),
            headers=institutions.HEADERS,
        )

    @expose("/import/confirm/", methods=("POST",))
    def import_confirm(self) -> Any:
        """The administrator confirmed: the good rows are saved (created or updated by code)."""
        require_csrf()
        token = request.form.get("token", "")
        raw = None
        if token:  # taken once: a second confirmation (double click) saves nothing twice
            pipe = container().redis.pipeline()
            pipe.get(self._key(token))
            pipe.delete(self._key(token))
            raw = pipe.execute()[0]
        if raw is None:
            flash("导入已过期或已完成，请重新上传文件。", "error")
            return redirect(url_for(".import_file"))
        created, updated, warnings = institutions.save_rows(
            self.session, json.loads(raw), admin_actor(), container().geocoder
        )
        uow().commit()
        flash(f"导入完成：新增{created}家，更新{updated}家。")
        for w in warnings:
            flash(w, "warning")
        return redirect(url_for(".index_view"))

    @expose("/import/template.csv")
    def import_template(self) -> Any:
        return Response(
            institutions.template_csv(),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=institutions-template.csv"},
        )

    def _key(self, token: str) -> str:
        if not token.replace("-", "").replace("_", "").isalnum():
            abort(400)
        return f"vam:institution-import:{token}"
