"""An article from the admin web to a patient's phone (A4.1, P7.1), through the real system: an
administrator writes an article in the browser and submits it, a second administrator publishes
it; a patient asks in the official account in their own words — signed callback → worker →
Rasa server (trained from nlu/) → action server — and the reply links the new article, which
opens on a phone-sized H5 page. Run under ``flock /tmp/heavy.lock`` (it starts Rasa)."""

from __future__ import annotations

import re

import pytest

from bot.models import EducationArticle, utcnow
from bot.seed.tables import ARTICLES
from devtools.wechat_sim import callbacks as sim_cb
from tests.integration.test_education_web import add_admins
from tests.support import processes
from tests.support.simulated import simulated_wechat

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.redis, pytest.mark.rasa]

TITLE = "带着PICC可以开车吗？"
BODY = """带PICC期间可以开短途车，但请注意：

1. 系好安全带时，安全带不要压在置管侧手臂的穿刺点和导管上；
2. 避免长时间驾驶，每开1小时停车活动手臂、做握拳运动；
3. 置管后一周内、手臂肿胀疼痛时不要开车。

<script>alert('不会执行')</script>"""


def sign_in(page, url: str, login: str) -> None:
    page.goto(url + "/login")
    page.fill("#login", login)
    page.fill("#password", "Admin1234")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/.*"))


@pytest.mark.req("A4.1", "P7.1")
def test_a4_1_p7_1_an_article_published_in_the_admin_web_answers_a_patient_in_chat(
    settings, engine, session, tmp_path, browser, page
):
    add_admins(session)
    session.add_all(EducationArticle(published_at=utcnow(), **spec) for spec in ARTICLES)
    session.commit()

    with simulated_wechat(settings, tmp_path / "instance") as running:
        sim, cfg, env, (web_port, rasa_port, actions_port) = running
        web = f"http://127.0.0.1:{web_port}"
        env["PUBLIC_BASE_URL"] = web
        with processes.dialogue_system(
            env, web_port=web_port, rasa_port=rasa_port, actions_port=actions_port
        ):
            # 1. the writer: a new article with its stage, device and keywords, then review
            sign_in(page, web, "A001")
            page.goto(web + "/admin/articles/new")
            page.fill("#title", TITLE)
            page.fill("#summary", "可以开短途车，安全带别压导管，每小时活动手臂。")
            page.fill("#category", "健康生活")
            page.select_option("#stage", "daily_care")
            page.check("#device-PICC")
            page.fill("#keywords", "开车、驾驶、安全带")
            page.fill("#body", BODY)
            page.locator("#preview li", has_text="系好安全带").wait_for()  # the live preview
            assert "<script" not in page.inner_html("#preview")
            page.fill("#note", "新写")
            page.click("#save")
            page.locator("#article-status", has_text="草稿").wait_for()
            article_id = int(re.search(r"/admin/articles/(\d+)", page.url).group(1))
            page.click("#article-steps button:text-is('提交审核')")
            page.locator("#article-status", has_text="待审核").wait_for()

            # 2. the reviewer publishes it
            reviewer = browser.new_context(locale="zh-CN").new_page()
            sign_in(reviewer, web, "A002")
            reviewer.goto(f"{web}/admin/articles/{article_id}")
            reviewer.click("#article-steps button:text-is('发布')")
            reviewer.locator("#article-status", has_text="已发布").wait_for()
            reviewer.context.close()

            # 3. a patient asks in their own words; the reply links the article
            openid = "o_edu_patient"
            seen = len(sim.state.messages("mp", openid))
            sim.state.user_message(openid)  # opens the 48-hour service window
            sim_cb.post_mp(cfg, sim_cb.mp_text(openid, "带着P管能开车吗"))
            link = f"{web}/h5/articles/{article_id}"

            def replies() -> list[str]:
                return [str(m["payload"]) for m in sim.state.messages("mp", openid)[seen:]]

            try:
                processes.wait_until(
                    lambda: any(link in r for r in replies()), timeout=90, what=link
                )
            except AssertionError as exc:
                raise AssertionError(f"{exc}; the patient got {replies()}") from exc
            answer = next(r for r in replies() if link in r)
            assert TITLE in answer

            # 4. the patient opens it on the phone
            page.goto(link)
            page.locator("h1", has_text=TITLE).wait_for()
            assert "每开1小时停车活动手臂" in page.inner_text("#article-body")
            assert "<script" not in page.inner_html("#article-body")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 400  # readable on a phone: nothing wider than the screen
