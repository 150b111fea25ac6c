"""科普宣教 in the admin web (A4.1) and the patients' article pages (P7.1): an article written
with an image, reviewed and published by a second administrator, its versions viewable and
restorable; the H5 list and page (only published articles, sanitised HTML, images sized, read
counts once per reader a day, the patient's device first)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.adapters.media import MediaStore
from bot.models import (
    ArticleVersion,
    AuditLog,
    Catheter,
    EducationArticle,
    Institution,
    Patient,
    PatientAccount,
    PatientProfile,
    Report,
    Staff,
    utcnow,
)
from bot.models.enums import PublishStatus, ReportSource, StaffRole
from bot.services import auth
from bot.services.education import retrieval
from server import create_app
from tests.integration.test_staff_web import sign_in

pytestmark = [pytest.mark.db, pytest.mark.redis]


def token(html: str) -> str:
    return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (800, 300), (20, 120, 200)).save(buf, "PNG")
    return buf.getvalue()


def add_admins(session) -> None:
    """Two administrators of the home hospital (A001 writes, A002 reviews), password
    Admin1234."""
    home = Institution(code="HOME", name="本院", is_home=True, phone="0571-88888888")
    for no, name in (("A001", "王管理"), ("A002", "李审核")):
        session.add(
            Staff(
                institution=home,
                staff_no=no,
                name=name,
                role=StaffRole.ADMIN,
                password_hash=auth.hash_password("Admin1234"),
                password_changed_at=utcnow(),
            )
        )
    session.commit()


@pytest.fixture
def world(settings, engine, redis_conn, session):
    retrieval.forget()
    add_admins(session)
    app = create_app(settings)
    writer, reviewer = app.test_client(), app.test_client()
    assert sign_in(writer, "A001", "Admin1234").status_code == 302
    assert sign_in(reviewer, "A002", "Admin1234").status_code == 302
    yield {"app": app, "writer": writer, "reviewer": reviewer}
    retrieval.forget()


FORM = {
    "title": "输液港带针洗澡怎么办",
    "summary": "带针期间洗澡要防水。",
    "category": "居家护理",
    "stage": "daily_care",
    "device_types": ["PORT"],
    "keywords": "洗澡、带针、防水",
    "body": "## 洗澡\n\n用保鲜膜包好针头处敷料。",
    "note": "初稿",
    "do": "save",
}


def create(client, **changes) -> int:
    page = client.get("/admin/articles/new").get_data(as_text=True)
    r = client.post("/admin/articles/new", data={**FORM, **changes, "csrf_token": token(page)})
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def step(client, article_id: int, name: str) -> str:
    page = client.get(f"/admin/articles/{article_id}").get_data(as_text=True)
    client.post(f"/admin/articles/{article_id}/{name}", data={"csrf_token": token(page)})
    return client.get(f"/admin/articles/{article_id}").get_data(as_text=True)


@pytest.mark.req("A4.1", "P7.1")
def test_a4_1_admin_writes_with_an_image_another_publishes_and_patients_read_it(world, session):
    writer, reviewer = world["writer"], world["reviewer"]
    page = writer.get("/admin/articles/new").get_data(as_text=True)
    assert "新建科普文章" in page and "插入图片" in page
    r = writer.post(
        "/admin/articles/upload",
        data={"csrf_token": token(page), "image": (io.BytesIO(png()), "港.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 200
    image_md, url = r.json["markdown"], r.json["url"]
    assert image_md.startswith("![港](/h5/articles/media/") and url.endswith(".png")
    article_id = create(writer, body=FORM["body"] + "\n\n" + image_md)

    page = step(writer, article_id, "submit")
    assert "待审核" in page
    page = step(writer, article_id, "publish")  # the writer cannot publish their own text
    assert "不能发布自己保存的版本" in page and "待审核" in page
    patient = world["app"].test_client()
    assert patient.get(f"/h5/articles/{article_id}").status_code == 404
    page = step(reviewer, article_id, "publish")
    assert "已发布" in page

    html = patient.get(f"/h5/articles/{article_id}").get_data(as_text=True)
    assert "输液港带针洗澡怎么办" in html and "<h2>洗澡</h2>" in html
    assert f'src="{url}"' in html and "max-width:100%" in html
    image = patient.get(url)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == png()
    assert "输液港带针洗澡怎么办" in patient.get("/h5/articles").get_data(as_text=True)

    listing = writer.get("/admin/articles/").get_data(as_text=True)
    assert "输液港带针洗澡怎么办" in listing and "已发布" in listing and "日常护理" in listing
    audited = session.scalars(
        select(AuditLog.action).where(
            AuditLog.object_type.in_(["education_article", "article_image"])
        )
    ).all()
    assert sorted(audited) == ["create", "publish", "submit", "upload"]


@pytest.mark.req("A4.1")
def test_a4_1_bad_images_are_refused_with_the_reason(world):
    writer = world["writer"]
    page = writer.get("/admin/articles/new").get_data(as_text=True)

    def upload(data: bytes, name: str):
        return writer.post(
            "/admin/articles/upload",
            data={"csrf_token": token(page), "image": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    fake = upload(b"<script>alert(1)</script>", "x.png")  # a PNG by name only
    assert fake.status_code == 400 and "JPG或PNG" in fake.json["error"]
    big = upload(b"\x89PNG" + bytes(5 * 1024 * 1024), "big.png")
    assert big.status_code == 400 and "5MB" in big.json["error"]


@pytest.mark.req("A4.1")
def test_a4_1_versions_are_viewable_and_an_old_one_restored(world, session):
    writer, reviewer = world["writer"], world["reviewer"]
    article_id = create(writer)
    page = writer.get(f"/admin/articles/{article_id}").get_data(as_text=True)
    r = writer.post(
        f"/admin/articles/{article_id}",
        data={**FORM, "body": "第二版正文", "note": "改写", "csrf_token": token(page)},
    )
    assert r.status_code == 302
    page = writer.get(f"/admin/articles/{article_id}").get_data(as_text=True)
    assert "第2版" in page and "改写" in page and "初稿" in page
    old = writer.get(f"/admin/articles/{article_id}/versions/1").get_data(as_text=True)
    assert "用保鲜膜包好针头处敷料" in old and "恢复此版本" in old
    writer.post(f"/admin/articles/{article_id}/versions/1/restore", data={"csrf_token": token(old)})
    session.expire_all()
    article = session.get(EducationArticle, article_id)
    assert article.version == 3 and "用保鲜膜包好针头处敷料" in article.body
    assert (
        session.scalar(
            select(func.count(ArticleVersion.id)).where(ArticleVersion.article_id == article_id)
        )
        == 3
    )
    step(writer, article_id, "submit")
    step(reviewer, article_id, "publish")
    page = step(reviewer, article_id, "unpublish")
    assert "已下线" in page
    assert world["app"].test_client().get(f"/h5/articles/{article_id}").status_code == 404


@pytest.mark.req("A4.1")
def test_a4_1_the_preview_is_sanitised_as_patients_see_it(world):
    writer = world["writer"]
    page = writer.get("/admin/articles/new").get_data(as_text=True)
    r = writer.post(
        "/admin/articles/preview",
        data={"csrf_token": token(page), "body": "**重要**<script>alert(1)</script>"},
    )
    html = r.get_data(as_text=True)
    assert "<strong>重要</strong>" in html and "<script" not in html
    assert writer.post("/admin/articles/preview", data={"body": "x"}).status_code == 400  # CSRF
    nurse_page = world["app"].test_client().get("/admin/articles/")
    assert nurse_page.status_code == 302  # not signed in: to the sign-in page


def publish_directly(session, **fields) -> EducationArticle:
    defaults = {
        "status": PublishStatus.PUBLISHED,
        "published_at": utcnow(),
        "title": "测试文章",
        "body": "正文",
        "device_types": [],
        "keywords": [],
    }
    a = EducationArticle(**{**defaults, **fields})
    session.add(a)
    session.commit()
    return a


@pytest.mark.req("P7.1")
def test_p7_1_script_tags_and_javascript_links_are_stripped_on_the_page(world, session):
    a = publish_directly(
        session,
        body=(
            "# 注意\n\n<script>alert('x')</script>\n\n[点我](javascript:alert(1))\n\n"
            '<a href="javascript:alert(2)">再点</a> <img src="x.png" onerror="alert(3)">\n\n'
            "<style>body{display:none}</style>正常内容"
        ),
    )
    html = world["app"].test_client().get(f"/h5/articles/{a.id}").get_data(as_text=True)
    body = html.split('id="article-body"', 1)[1].split("</article>", 1)[0]
    assert "正常内容" in body and "<h1>注意</h1>" in body
    assert "<script" not in body and "alert" not in body.replace("[点我](javascript:alert(1))", "")
    assert 'href="javascript' not in body and "onerror" not in body and "<style" not in body


@pytest.mark.req("P7.1")
def test_p7_1_read_counts_once_per_reader_a_day_and_drafts_are_not_found(world, session):
    a = publish_directly(session)
    before = a.updated_at
    one, two = world["app"].test_client(), world["app"].test_client()
    for client in (one, one, one, two):
        assert client.get(f"/h5/articles/{a.id}").status_code == 200
    session.expire_all()
    a = session.get(EducationArticle, a.id)
    assert a.read_count == 2 and a.updated_at == before  # a read is not an edit
    draft = publish_directly(session, status=PublishStatus.DRAFT, title="草稿文章")
    r = one.get(f"/h5/articles/{draft.id}")
    assert r.status_code == 404 and "文章不存在" in r.get_data(as_text=True)
    assert one.get("/h5/articles/999999").status_code == 404
    assert "草稿文章" not in one.get("/h5/articles").get_data(as_text=True)
    assert one.get("/h5/articles/media/..%2Fsecret.png").status_code == 404


@pytest.mark.req("P7.1")
def test_p7_1_the_list_puts_the_patients_device_first(world, session):
    now = utcnow()
    publish_directly(
        session, title="PICC文章", device_types=["PICC"], stage="daily_care", published_at=now
    )
    publish_directly(
        session,
        title="输液港文章",
        device_types=["PORT"],
        stage="daily_care",
        published_at=now - timedelta(days=1),
    )
    p = Patient(name="钱芳")
    account = PatientAccount(openid="o_list_1")
    session.add_all([p, account])
    session.flush()
    profile = PatientProfile(account_id=account.id, patient_id=p.id)
    session.add(profile)
    session.flush()
    account.active_profile_id = profile.id
    session.add(Catheter(patient_id=p.id, device_type="PORT", placed_at=utcnow()))
    session.commit()
    anonymous = world["app"].test_client().get("/h5/articles").get_data(as_text=True)
    assert anonymous.index("PICC文章") < anonymous.index("输液港文章")  # newest first
    follower = world["app"].test_client()
    with follower.session_transaction() as web_session:
        web_session["account_id"] = account.id
    mine = follower.get("/h5/articles").get_data(as_text=True)
    assert mine.index("输液港文章") < mine.index("PICC文章")
    assert "已优先显示适合您的输液港的文章" in mine


@pytest.mark.req("A4.1", "P7.1")
def test_p7_1_the_article_image_route_serves_article_images_only_never_a_patients_photo(
    world, session, settings
):
    """Patients' photos are kept by content hash under MEDIA_ROOT as well, and their hashes are
    in the database: the public image route must not serve them (only access-checked pages do)."""
    writer = world["writer"]
    page = writer.get("/admin/articles/new").get_data(as_text=True)
    r = writer.post(
        "/admin/articles/upload",
        data={"csrf_token": token(page), "image": (io.BytesIO(png()), "港.png")},
        content_type="multipart/form-data",
    )
    url = r.json["url"]
    name = url.rsplit("/", 1)[1]
    assert (settings.media_root / "articles" / name[:2] / name).read_bytes() == png()

    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buf, "JPEG")
    photo = MediaStore(settings.media_root).save(buf.getvalue(), "image/jpeg")  # as chat does
    p = Patient(name="周敏")
    session.add(p)
    session.flush()
    session.add(
        Report(
            patient_id=p.id,
            source=ReportSource.SELF,
            image_path=str(photo.path),
            image_sha256=photo.sha256,
        )
    )
    session.commit()
    anyone = world["app"].test_client()
    assert anyone.get(url).status_code == 200
    assert anyone.get(f"/h5/articles/media/{photo.path.name}").status_code == 404
    escaped = settings.media_root / "articles" / photo.sha256[:2] / photo.path.name
    escaped.parent.mkdir(parents=True, exist_ok=True)
    escaped.symlink_to(photo.path)  # a link out of the articles' folder is not followed
    assert anyone.get(f"/h5/articles/media/{photo.path.name}").status_code == 404
    escaped.unlink()


@pytest.mark.req("P7.1")
def test_p7_1_the_article_page_opens_when_redis_is_down(world, session, caplog):
    import redis

    class Down:
        def set(self, *args, **kwargs):
            raise redis.ConnectionError("redis is down")

    a = publish_directly(session, title="Redis停了也能看")
    world["app"].extensions["vam"].__dict__["redis"] = Down()  # the container's cached client
    r = world["app"].test_client().get(f"/h5/articles/{a.id}")
    assert r.status_code == 200 and "Redis停了也能看" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(EducationArticle, a.id).read_count == 0
    assert "read not counted" in caplog.text
