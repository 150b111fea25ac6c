"""Greeting, menu, fallback, hand-off to a nurse, agreements, features still to come."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from bot.container import current as container
from bot.models import Agreement, Institution
from bot.models.enums import AgreementKind

from . import gate

PATIENT_MENU = (
    "我可以帮您：\n"
    "1. 查看附近可维护导管的医疗机构（发送“附近机构”或直接发送位置）\n"
    "2. 导管居家护理科普（如“PICC能洗澡吗”）\n"
    "3. 出现手臂肿胀、穿刺点发红、发热等情况时给出处理建议\n"
    "4. 查看服务协议与隐私政策\n"
    "5. 联系静脉治疗护士（发送“找护士”）\n"
    "6. 绑定就诊人（发送“绑定就诊人”），切换就诊人（发送“切换就诊人”）\n"
    "7. 预约导管维护门诊（发送“预约维护”，需先绑定就诊人）\n"
    "8. 上传检验检查报告：直接发送报告照片（需先绑定就诊人）\n"
    "9. 我的导管、我的二维码、维护提醒（发送“我的导管”“我的二维码”“我的提醒”）\n"
    "10. 历史记录：置管登记表与每次维护记录（发送“历史记录”）"
)
CLINICIAN_MENU = (
    "医护功能：\n"
    "1. 今日待维护：按逾期、今日、即将到期列出本院患者\n"
    "2. 查找患者：发送“查患者 张三”\n"
    "3. 维护登记：发送“登记维护”或“给张三做完维护了”\n"
    "4. 并发症：发送“上报并发症”，处理后发送如“12床静脉炎已处理：硫酸镁湿敷”，"
    "结案发送如“王芳的静脉炎好了，结案”；查看发送“我的并发症”“未结案并发症”\n"
    "5. 发起会诊：发送“申请会诊”\n"
    "6. 扫码：点击菜单“扫码”扫描患者置管二维码，查看患者卡片后可直接登记维护\n"
    "7. 随访设置：发送“张三下次维护定在下周五”或“12床改为高危，每2天随访”\n"
    "8. 拔管登记：扫码后发送“拔管”，或发送如“张三今天拔管了，治疗结束”\n"
    "置管登记和完整的随访计划在应用主页和导管详情页；会诊群聊即将上线。"
)

# What each feature that is not built yet is called, for an honest answer.
# events that are not a request: what each is answered with (ActionNotYet below)
EVENT_REPLIES = {
    "card_button": "已收到您的选择。",
    "scan_scene": "欢迎回来！发送“菜单”查看可用功能，或点击下方菜单。",
}


class ActionSessionStart(Action):
    """Start a session with the sender's role, so rules and actions know the audience."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        meta = tracker.get_slot("session_started_metadata") or {}
        if isinstance(meta, dict) and meta.get("first_contact") and meta.get("channel") == "mp":
            welcome(dispatcher)  # a new follower's first message, whatever it says
        events: list[EventType] = [SessionStarted()]
        if isinstance(meta, dict) and meta.get("role"):
            events.append(SlotSet("role", meta["role"]))
        events.append(ActionExecuted("action_listen"))
        return events


class ActionHelp(Action):
    def name(self) -> str:
        return "action_help"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if gate.is_clinician(tracker):
            dispatcher.utter_message(text=CLINICIAN_MENU)
        elif gate.metadata(tracker).get("channel") == "work":
            dispatcher.utter_message(text=gate.UNKNOWN_STAFF)
        else:
            dispatcher.utter_message(text=PATIENT_MENU)
        return [SlotSet("role", gate.role(tracker))]


class ActionWelcome(Action):
    """A new follower: who we are, and the agreement they accept by using the service."""

    def name(self) -> str:
        return "action_welcome"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not gate.metadata(tracker).get("first_contact"):  # else the session start did
            welcome(dispatcher)
        return []


def welcome(dispatcher: CollectingDispatcher) -> None:
    """Who we are; the agreements are read and accepted on the H5 page before binding."""
    base = container().settings.public_base_url
    dispatcher.utter_message(
        custom={
            "card": "news",
            "title": "欢迎使用静脉通路全程管理服务",
            "description": "为带PICC、输液港等导管的患者提供维护提醒、护理指导和就近维护服务。"
            "请阅读并同意《服务协议》和《隐私政策》，然后绑定就诊人。",
            "url": f"{base}/h5/agreements?next=/h5/bind",
        }
    )
    dispatcher.utter_message(text=PATIENT_MENU)


class ActionAskHuman(Action):
    """Hand-off: the home hospital's phone, in working hours a nurse answers."""

    def name(self) -> str:
        return "action_ask_human"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with container().uow() as uow:
            home = uow.session.scalar(select(Institution).where(Institution.is_home.is_(True)))
            phone = home.phone if home and home.phone else "医院总机"
            hours = f"（{home.opening_hours}）" if home and home.opening_hours else ""
        dispatcher.utter_message(
            text=f"需要护士帮助时，请致电静脉治疗专科门诊：{phone}{hours}。"
            "如出现发热、寒战、手臂明显肿胀疼痛、导管断裂或大量出血，请立即到医院急诊就诊。"
        )
        return []


class ActionAgreement(Action):
    def name(self) -> str:
        return "action_agreement"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        with container().uow() as uow:
            texts = []
            for kind in (AgreementKind.SERVICE, AgreementKind.PRIVACY):
                row = uow.session.scalar(
                    select(Agreement)
                    .where(Agreement.kind == kind, Agreement.published_at.is_not(None))
                    .order_by(Agreement.version.desc())
                    .limit(1)
                )
                if row is not None:
                    summary = row.body if len(row.body) <= 300 else row.body[:300] + "……"
                    texts.append(f"《{row.title}》（第{row.version}版）\n{summary}")
        if not texts:
            dispatcher.utter_message(text="服务协议与隐私政策正在更新，请稍后再查看。")
        for text in texts:
            dispatcher.utter_message(text=text)
        return []


class ActionDefaultFallback(Action):
    """Not understood: offer the menu and a nurse, never leave the person stuck."""

    def name(self) -> str:
        return "action_default_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if gate.is_clinician(tracker) and gate.patient_name(tracker):
            # "看看王大伟的情况" the model was unsure of: it names a patient (one this clinician
            # may see, or a name jieba recognised, answered "not found" if nobody has it)
            from .clinician import ActionSearchPatient

            return ActionSearchPatient().answer(dispatcher, tracker, domain)
        dispatcher.utter_message(
            text="抱歉，我没有理解您的意思。",
            buttons=[
                {"title": "查看菜单", "payload": "/help"},
                {"title": "联系护士", "payload": "/ask_human"},
            ],
        )
        return []


class ActionMediaUnsupported(Action):
    def name(self) -> str:
        return "action_media_unsupported"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(text="暂不支持这类消息。请发送文字、图片或位置，或发送“菜单”。")
        return []


class ActionNotYet(Action):
    """Inputs no feature waits for: the report button (send the photo), WeChat's events that are
    not a request (a subscription pop-up's choice, a card button, a follower scanning a
    parametric code), and a stray answer to no question."""

    def name(self) -> str:
        return "action_not_yet"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = (tracker.latest_message.get("intent") or {}).get("name", "")
        if intent == "upload_report" and not gate.is_clinician(tracker):
            dispatcher.utter_message(
                text="请直接发送报告照片（拍清整张报告，可一次发几张），收到后我会自动识别并把结果发给您。"
                + (
                    ""
                    if gate.metadata(tracker).get("active_patient_id")
                    else "上传前需先绑定就诊人。"
                )
            )
            return []
        if intent == "subscription_decision":
            dispatcher.utter_message(text=subscription_reply(tracker))
            return []
        if intent in EVENT_REPLIES:
            dispatcher.utter_message(text=EVENT_REPLIES[intent])
            return []
        dispatcher.utter_message(
            text="我没有在等待您填写的内容。请问您想做什么？发送“菜单”查看可用功能。"
        )
        return []


def subscription_reply(tracker: Tracker) -> str:
    """The answer to the patient's choice in WeChat's subscription pop-up."""
    entities = tracker.latest_message.get("entities") or []
    chosen = {e.get("entity"): e.get("value") for e in entities}
    if chosen.get("accepted"):
        return "好的，已开启微信服务通知：导管维护到期前会通知您。"
    return (
        "您没有开启微信服务通知。维护提醒仍会在“我的提醒”和站内消息中显示，"
        "设置了短信提醒的也会发短信。"
    )
