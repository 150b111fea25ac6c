"""What ``action_education`` answers (P7.1): the published articles that best match the whole
message the patient typed, as news cards opening the H5 article page; an honest "no matching
article" with the article list otherwise. A menu click (no words) gets the list and the
articles for the stage of the patient's device. The question is never asked again."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.container import current as container
from bot.models.enums import ArticleStage
from bot.services import directory, education
from bot.services.education.retrieval import tokens

from . import gate

# words that ask for education in general, not about a topic
ASKING_FOR_THE_LIST = set(
    tokens(
        "科普 导管科普 宣教 健康宣教 宣教资料 科普文章 文章 资料"
        " 知识 护理知识 导管护理知识 视频 看看"
    )
)
MAX_CARDS = 3
STAGE_CARDS = 2
NOTHING_FOUND = (
    "暂时没有找到与您的问题直接相关的科普文章。您可以在“护理科普”里按主题查看全部文章；"
    "如有不适或疑问，请发送“找护士”。"
)


def answer(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    text = str(tracker.latest_message.get("text") or "").strip()
    words = set(tokens(text))
    # a menu click or button, or only "科普" / "宣教资料": the list, not a search
    asked = "" if text.startswith("/") or words <= ASKING_FOR_THE_LIST else text
    base = container().settings.public_base_url
    raw_id = gate.metadata(tracker).get("active_patient_id")
    patient_id = int(raw_id) if raw_id else None
    with container().uow() as uow:
        devices = directory.patient_device_types(uow.session, patient_id)
        if asked:
            found = education.search(uow.session, asked, device_types=devices, limit=MAX_CARDS)
            cards = [_card(base, m.id, m.title, m.summary) for m in found]
        else:
            removed = not devices and directory.had_removal(uow.session, patient_id)
            stage = ArticleStage.AFTER_REMOVAL if removed else ArticleStage.DAILY_CARE
            articles = education.published_list(uow.session, devices, stage=stage.value)
            cards = [_card(base, a.id, a.title, a.summary or "") for a in articles[:STAGE_CARDS]]
    if asked and not cards:
        dispatcher.utter_message(text=NOTHING_FOUND)
        dispatcher.utter_message(custom=_list_card(base))
        return
    if not asked:
        dispatcher.utter_message(custom=_list_card(base))
    for card in cards:
        dispatcher.utter_message(custom=card)


def _card(base: str, article_id: int, title: str, summary: str) -> dict[str, str]:
    return {
        "card": "news",
        "title": title,
        "description": summary or "点击阅读全文",
        "url": f"{base}/h5/articles/{article_id}",
    }


def _list_card(base: str) -> dict[str, str]:
    return {
        "card": "news",
        "title": "护理科普",
        "description": "PICC、输液港居家护理、并发症预警、拔管后注意事项……按主题查看全部文章。",
        "url": f"{base}/h5/articles",
    }
