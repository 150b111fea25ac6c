"""The outside-clinician application form (C1.2): details and a photo of the work badge.

A pending or approved application for the same mobile is shown instead of a second one; a
pending one without a badge photo (applied in chat) gets the photo attached.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length, Regexp

from bot.adapters.media import MediaStore
from bot.models.enums import ActorType
from bot.security.images import NotAnImage, check_photo
from bot.services import applications, audit
from web import container, db, limiter, uow

bp = Blueprint("apply", __name__, template_folder="templates")


class ApplicationForm(FlaskForm):
    name = StringField(
        "姓名",
        validators=[
            DataRequired("请填写姓名"),
            Regexp(r"^[\u4e00-\u9fa5·]{2,15}$", message="请填写真实姓名（2–15个汉字）"),
        ],
    )
    hospital = StringField(
        "所在医院",
        validators=[DataRequired("请填写医院全称"), Length(4, 60, "医院名称需为4–60个字")],
    )
    department = StringField(
        "科室", validators=[DataRequired("请填写科室"), Length(2, 40, "科室需为2–40个字")]
    )
    title = StringField(
        "职称", validators=[DataRequired("请填写职称"), Length(1, 20, "职称最多20个字")]
    )
    phone = StringField(
        "手机号",
        validators=[
            DataRequired("请填写手机号"),
            Regexp(r"^1[3-9]\d{9}$", message="请填写11位手机号"),
        ],
    )
    licence = StringField(
        "执业证书编号",
        validators=[
            DataRequired("请填写执业证书编号"),
            Regexp(r"^[A-Za-z0-9]{8,30}$", message="执业证书编号应为8–30位字母或数字"),
        ],
    )
    badge = FileField("工牌照片", validators=[FileRequired("请上传工牌照片")])


@bp.route("/apply", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], error_message="提交过于频繁，请稍后再试")
def apply():
    c = container()
    form = ApplicationForm()
    if not form.validate_on_submit():
        return render_template("h5/apply.html", form=form), (
            400 if request.method == "POST" else 200
        )
    data = form.badge.data.read(10 * 1024 * 1024 + 1)
    try:
        content_type = check_photo(data)
    except NotAnImage as exc:
        form.badge.errors = [str(exc)]
        return render_template("h5/apply.html", form=form), 400
    s = db()
    phone = form.phone.data or ""
    existing = applications.existing(s, c.cipher, phone)
    if existing is not None:
        if existing.badge_photo_path is None and existing.status.value == "pending":
            existing.badge_photo_path = str(
                MediaStore(c.settings.media_root).save(data, content_type).path
            )
            audit.record(
                s,
                audit.Actor(ActorType.SYSTEM),
                "update",
                "outside_application",
                existing.id,
                context="h5 badge",
            )
            uow().commit()
            return render_template(
                "h5/applied.html",
                application=existing,
                attached=True,
                label=applications.STATUS_LABELS[existing.status],
            )
        return render_template(
            "h5/applied.html",
            application=existing,
            duplicate=True,
            label=applications.STATUS_LABELS[existing.status],
        )
    stored = MediaStore(c.settings.media_root).save(data, content_type)
    result = applications.apply(
        s,
        c.cipher,
        applications.Applicant(
            name=form.name.data or "",
            institution_name=form.hospital.data or "",
            department_name=form.department.data or "",
            title=form.title.data,
            phone=phone,
            licence_no=form.licence.data or "",
            badge_photo_path=str(stored.path),
        ),
        audit.Actor(ActorType.SYSTEM, None, request.remote_addr),
    )
    uow().commit()
    return render_template(
        "h5/applied.html",
        application=result.application,
        label=applications.STATUS_LABELS[result.application.status],
    )
