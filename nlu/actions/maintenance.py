"""Quick maintenance registration in chat (C3.3): which catheter, what was done, external
length, arm circumference, the puncture site, one confirmation. Red flags warn and offer a
complication report; the next due date comes from the rules."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.container import current as container
from bot.models import utcnow
from bot.services import dictionary as dictionary_service
from bot.services import maintenance as maintenance_service
from bot.services import placements

from . import catheters, forms, gate, parsing

FORM = "maintenance_form"
# the plausible ranges of the placement form, in cm
EXTERNAL_RANGE = placements.RANGES["external_length_cm"]  # catheter outside the skin
ARM_RANGE = placements.RANGES["arm_circumference_cm"]  # upper-arm circumference
ARM_DEVICES = {"PICC", "MIDLINE"}
EXTERNAL_DEVICES = {"PICC", "MIDLINE", "CVC"}

_ITEM_WORDS = {
    "FLUSH_LOCK": r"冲管|封管|冲封|脉冲|冲洗",
    "DRESSING": r"换膜|敷料|贴膜|换药|透明膜|纱布",
    "CONNECTOR": r"接头|肝素帽|正压|输液接头",
    "NEEDLE": r"换针|无损伤针|插针|蝶翼针",
}
_ALL = re.compile(r"都做|全部|全做|常规|所有|一套|都换")
_SITE_WORDS = {
    "REDNESS": r"红",
    "SWELLING": r"肿",
    "TENDERNESS": r"压痛|疼|痛",
    "EXUDATE": r"渗液|渗出|流水",
    "BLEEDING": r"渗血|出血",
    "PUS": r"脓",
    "DRESSING_LOOSE": r"松|卷边|翘",
    "DRESSING_DAMP": r"潮|湿",
    "DRESSING_SOILED": r"污|脏",
}
_NORMAL = re.compile(
    r"^(正常|无异常|没有异常|良好|好|干燥|无|没有|无红肿|未见异常|干洁|ok)[。.!！]*$|无红肿|未见异常|无渗",
    re.I,
)


def device_of(tracker: Tracker) -> str | None:
    return tracker.get_slot("m_device")


def parse_items(text: str, device: str | None) -> list[str]:
    if _ALL.search(text):
        return (
            ["FLUSH_LOCK", "NEEDLE"]
            if device == "PORT"
            else ["FLUSH_LOCK", "DRESSING", "CONNECTOR"]
        )
    return [code for code, words in _ITEM_WORDS.items() if re.search(words, text)]


def parse_site(text: str) -> list[str] | None:
    if _NORMAL.search(text):
        return []
    found = [code for code, words in _SITE_WORDS.items() if re.search(words, text)]
    return found or None


class ValidateMaintenanceForm(forms.ChatForm):
    form = FORM
    slots = (
        "m_catheter",
        "m_items",
        "m_external_length",
        "m_arm_circumference",
        "m_site",
        "m_confirm",
    )

    def permitted(self, tracker: Tracker) -> bool:
        return gate.refusal_for_clinician_feature(tracker) is None

    def wanted(self, slot: str, values: dict[str, Any]) -> bool:
        device = values.get("m_device")
        if slot == "m_external_length":
            return device in EXTERNAL_DEVICES or device is None
        if slot == "m_arm_circumference":
            return device in ARM_DEVICES or device is None
        return True

    def prefill(self, tracker: Tracker) -> dict[str, Any]:
        found = {
            "m_catheter": catheters.meant(tracker),
        }
        if (length := gate.entity(tracker, "external_length")) is not None:
            found["m_external_length"] = str(length)
        if (arm := gate.entity(tracker, "arm_circumference")) is not None:
            found["m_arm_circumference"] = str(arm)
        return found

    def prompt(self, slot: str, tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
        if slot == "m_confirm":
            dispatcher.utter_message(text=summary(tracker))

    def validate_m_catheter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        found = catheters.resolve(tracker, value)
        if found.catheter_id is None:
            dispatcher.utter_message(text=found.message)
            return {"m_catheter": None, "candidates": found.candidates}
        catheter, d = catheters.load(found.catheter_id)
        dispatcher.utter_message(text=f"为 {catheters.describe(d, catheter)} 登记维护。")
        return {
            "m_catheter": found.catheter_id,
            "m_device": catheter.device_type,
            "candidates": None,
        }

    def validate_m_items(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        items = parse_items(parsing.normalise(str(value)), device_of(tracker))
        if not items:
            dispatcher.utter_message(
                text="没有看懂做了哪些项目。请回复例如“冲封管 换膜 换接头”，或回复“都做了”。"
            )
            return {"m_items": None}
        return {"m_items": items}

    def validate_m_external_length(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _measure("m_external_length", value, EXTERNAL_RANGE, "外露长度", dispatcher)

    def validate_m_arm_circumference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _measure("m_arm_circumference", value, ARM_RANGE, "臂围（肘横纹上10cm）", dispatcher)

    def validate_m_site(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        site = parse_site(parsing.normalise(str(value)))
        if site is None:
            dispatcher.utter_message(
                text="请描述穿刺点情况：无异常请回复“正常”；有异常请写明，如“发红、渗液”“敷料松动”。"
            )
        return {"m_site": site}

    def validate_m_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return forms.validate_yes_no("m_confirm", value, tracker, dispatcher)


def _measure(
    slot: str,
    value: Any,
    bounds: tuple[Decimal, Decimal],
    what: str,
    dispatcher: CollectingDispatcher,
) -> dict[str, Any]:
    text = parsing.normalise(str(value))
    if re.fullmatch(r"(未测|没测|不测|无|跳过|没量|未量)[。.]*", text):
        return {slot: "未测"}
    cm = parsing.length_cm(text)
    low, high = bounds
    if cm is None or not low <= cm <= high:
        dispatcher.utter_message(
            text=f"{what}应在 {low}–{high} cm 之间，请重新输入数字（如“3.5”），未测量请回复“未测”。"
        )
        return {slot: None}
    return {slot: str(cm)}


def _cm(value: Any) -> Decimal | None:
    return None if value in (None, "未测") else Decimal(str(value))


def summary(tracker: Tracker) -> str:
    catheter, d = catheters.load(int(tracker.get_slot("m_catheter")))
    items = "、".join(maintenance_service.ITEM_LABELS[i] for i in tracker.get_slot("m_items") or [])
    site = tracker.get_slot("m_site") or []
    lines = [
        "请核对本次维护：",
        f"导管：{catheters.describe(d, catheter)}",
        f"项目：{items}",
    ]
    if catheter.device_type in EXTERNAL_DEVICES:
        lines.append(f"外露长度：{_show(tracker.get_slot('m_external_length'))}")
    if catheter.device_type in ARM_DEVICES:
        lines.append(f"臂围：{_show(tracker.get_slot('m_arm_circumference'))}")
    lines.append("穿刺点：" + ("、".join(d.label("site_findings", c) for c in site) or "无异常"))
    return "\n".join(lines)


def _show(value: Any) -> str:
    return "未测" if value in (None, "未测") else f"{value} cm"


class ActionSubmitMaintenance(forms.SubmitAction):
    form = FORM
    confirm_slot = "m_confirm"

    def refusal(self, tracker: Tracker) -> str | None:
        return gate.refusal_for_clinician_feature(tracker)

    def save(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        rt = container()
        meta = gate.metadata(tracker)
        visit = maintenance_service.Visit(
            items=frozenset(tracker.get_slot("m_items") or []),
            performed_at=utcnow(),
            site_findings=list(tracker.get_slot("m_site") or []),
            external_length_cm=_cm(tracker.get_slot("m_external_length")),
            arm_circumference_cm=_cm(tracker.get_slot("m_arm_circumference")),
        )
        with rt.uow() as uow:
            d = dictionary_service.current(uow.session)
            try:
                result = maintenance_service.register(
                    uow.session,
                    d,
                    int(tracker.get_slot("m_catheter")),
                    visit,
                    tz=rt.settings.timezone,
                    actor=catheters.actor(tracker),
                    institution_id=meta.get("institution_id"),
                    idempotency_key=forms.idempotency_key(tracker),
                )
            except maintenance_service.MaintenanceRefused as exc:
                uow.rollback()
                dispatcher.utter_message(text=f"未能登记：{exc}")
                return
            uow.commit()
            record_id = result.record.id
        text = (
            f"维护已登记（记录号 {record_id}）。下次维护日期：{result.next_due_on:%Y年%m月%d日}。"
        )
        if not result.created:
            text = "这次维护已经登记过，没有重复保存。" + text
        dispatcher.utter_message(text=text)
        if result.red_flags:
            dispatcher.utter_message(
                text="⚠ 注意：" + "；".join(f.message for f in result.red_flags) + "。",
                buttons=[{"title": "上报并发症", "payload": "/report_complication"}],
            )
