"""Media no record needs is removed after the grace period; a file any record points to, a
catheter's current QR image and a message still to be sent keep theirs (issue 12 §5)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from bot.adapters.media import MediaStore
from bot.models import (
    ArticleVersion,
    Catheter,
    Consultation,
    ConsultationMedia,
    EducationArticle,
    InboxMessage,
    OutboxMessage,
    OutsideApplication,
    Patient,
    Report,
    Staff,
    utcnow,
)
from bot.models.enums import Channel, PublishStatus, ReportSource, StaffRole
from bot.services import education, media_cleanup
from bot.services.qr import QrCodes

pytestmark = [pytest.mark.db, pytest.mark.req("P4.1", "P2.2")]


def old(path, days=30):
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_bytes(b"x")
    stamp = (utcnow() - timedelta(days=days)).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def test_only_old_files_nothing_refers_to_are_removed(session, settings, tmp_path):
    root = tmp_path / "media"
    codes = QrCodes.from_settings(settings)
    patient = Patient(name="孙阿姨")
    session.add(patient)
    session.flush()
    catheter = Catheter(patient_id=patient.id, device_type="PICC", placed_at=utcnow())
    session.add(catheter)
    session.flush()
    report_photo = old(root / "ab" / "ab12.jpg")
    badge = old(root / "cd" / "cd34.png")
    to_send = old(root / "ef" / "ef56.png")
    unanswered = old(root / "aa" / "aa78.jpg")  # a photo whose turn is still to run
    abandoned = old(root / "99" / "9999.jpg")
    half_written = old(root / "98" / "9898.jpg.part")
    fresh = old(root / "97" / "9797.jpg", days=1)
    current_qr = old(codes.png(catheter, root))
    catheter.qr_token_version += 1  # reissued: the printed code is void
    reissued_qr = old(codes.png(catheter, root))
    application = OutsideApplication(
        name="王医生",
        institution_name="外院",
        department_name="肿瘤科",
        phone_enc=b"x",
        phone_index="i",
        licence_no="110000000000001",
        badge_photo_path=str(badge),
    )
    image = {"msgtype": "image", "image": {"path": str(to_send)}}
    session.add_all(
        [
            Report(patient_id=patient.id, source=ReportSource.SELF, image_path=str(report_photo)),
            application,
            InboxMessage(
                channel=Channel.MP,
                sender="o_sun",
                dedupe_key="mp:o_sun:1",
                msg_type="image",
                turn_input={"intent": "upload_report", "entities": {"media_path": str(unanswered)}},
            ),
            OutboxMessage(
                dedupe_key="k1",
                channel=Channel.MP,
                recipient="o_sun",
                msg_type="image",
                payload=image,
            ),
        ]
    )
    session.commit()
    removed = media_cleanup.sweep(session, codes, root, utcnow())
    assert set(removed) == {abandoned, half_written, current_qr}
    for kept in (report_photo, badge, to_send, unanswered, fresh, reissued_qr):
        assert kept.exists()
    assert not abandoned.exists() and not current_qr.exists()


@pytest.mark.req("C5.1")
def test_c5_1_a_consultations_media_stored_relative_to_media_root_is_kept(
    session, settings, tmp_path
):
    from bot.models import Institution

    root = tmp_path / "media"
    codes = QrCodes.from_settings(settings)
    home = Institution(code="H", name="本院", is_home=True)
    patient = Patient(name="孙阿姨")
    session.add_all([home, patient])
    session.flush()
    nurse = Staff(institution=home, staff_no="N1", name="李护士", role=StaffRole.NURSE)
    session.add(nurse)
    session.flush()
    consultation = Consultation(patient_id=patient.id, requested_by_id=nurse.id, title="会诊")
    session.add(consultation)
    session.flush()
    photo = old(root / "c1" / "c1ab.jpg")
    session.add(
        ConsultationMedia(
            consultation_id=consultation.id,
            kind="image",
            path="c1/c1ab.jpg",
            sha256="c1ab",
            content_type="image/jpeg",
            size=1,
        )
    )
    session.commit()
    assert media_cleanup.sweep(session, codes, root, utcnow()) == []
    assert photo.exists()


@pytest.mark.req("A4.1")
def test_a4_1_article_images_outlive_the_grace_period(session, settings, tmp_path):
    """An image inserted into an article is named only inside its Markdown: the clean-up leaves
    the articles' folder alone, and keeps an older upload (directly under MEDIA_ROOT) while an
    article text or version names it."""
    root = tmp_path / "media"
    codes = QrCodes.from_settings(settings)
    in_article = education.images.store(root, b"\x89PNG in the article", "image/png")
    in_old_version = education.images.store(root, b"\x89PNG only in version 1", "image/png")
    legacy = MediaStore(root).save(b"\xff\xd8 uploaded before the folder", "image/jpeg")
    for stored in (in_article, in_old_version, legacy):
        old(stored.path, days=60)
    abandoned = old(root / "99" / "9999.jpg")
    article = EducationArticle(
        title="输液港日常维护",
        body=f"正文\n\n![港]({education.images.url(in_article)})",
        status=PublishStatus.PUBLISHED,
        device_types=["PORT"],
        keywords=[],
    )
    session.add(article)
    session.flush()
    session.add_all(
        [
            ArticleVersion(
                article_id=article.id,
                version=1,
                title=article.title,
                body=(
                    f"![旧图]({education.images.url(in_old_version)})\n"
                    f"![更旧]({education.images.URL_PREFIX}{legacy.path.name})"
                ),
            ),
            ArticleVersion(
                article_id=article.id, version=2, title=article.title, body=article.body
            ),
        ]
    )
    session.commit()
    assert in_article.path.parent.parent == root / "articles"
    removed = media_cleanup.sweep(session, codes, root, utcnow())
    assert removed == [abandoned]
    for kept in (in_article, in_old_version, legacy):
        assert kept.path.exists()
